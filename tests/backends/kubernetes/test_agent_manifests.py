"""`dpictl agent manifests|install|uninstall`: what is rendered, that the real API server
accepts it, and that the agent's RBAC is enough for the agent and no more."""

from __future__ import annotations

import subprocess
import sys

import pytest
import yaml

from dpictl.agent.kube_sink import KubeSink
from dpictl.agent.kube_source import KubeSource
from dpictl.backends.kubernetes import KubernetesBackend, agent_manifests
from dpictl.backends.kubernetes.agent_manifests import AgentOptions, dpi_resources, render
from dpictl.errors import PermissionDenied

from .conftest import impersonating, load_fixture, patch_pod_running, rbac_enforced, unique
from .test_events import make_alert


def _by_kind(docs: list[dict]) -> dict[str, dict]:
    return {d["kind"]: d for d in docs}


def test_offline_manifests_render_the_daemonset_as_calico_does() -> None:
    docs = agent_manifests.all_manifests(AgentOptions(namespace="dk8-sys", image="img:1"))
    kinds = [d["kind"] for d in docs]
    assert kinds == ["CustomResourceDefinition", "CustomResourceDefinition", "Namespace",
                     "ServiceAccount", "ClusterRole", "ClusterRoleBinding", "Role",
                     "RoleBinding", "DaemonSet"]
    ds = _by_kind(docs)["DaemonSet"]
    assert ds["metadata"]["namespace"] == "dk8-sys"
    pod = ds["spec"]["template"]["spec"]
    assert pod["hostNetwork"] is True and pod["serviceAccountName"] == "dpictl-agent"
    (c,) = pod["containers"]
    assert c["image"] == "img:1"
    assert c["securityContext"]["capabilities"] == {"drop": ["ALL"],
                                                    "add": ["NET_RAW", "NET_ADMIN"]}
    assert c["resources"] == {"limits": {"cpu": "1", "memory": "1Gi"},
                              "requests": {"cpu": "100m", "memory": "100Mi"}}
    node_env = next(e for e in c["env"] if e["name"] == "NODE_NAME")
    assert node_env["valueFrom"]["fieldRef"]["fieldPath"] == "spec.nodeName"
    assert c["command"] + c["args"] == ["dpictl", "agent", "run", "--backend", "kubernetes"]
    binding = _by_kind(docs)["ClusterRoleBinding"]
    assert binding["subjects"] == [{"kind": "ServiceAccount", "name": "dpictl-agent",
                                    "namespace": "dk8-sys"}]


def test_rbac_is_least_privilege() -> None:
    role = _by_kind(render())["ClusterRole"]
    verbs = {}
    for rule in role["rules"]:
        for res in rule["resources"]:
            verbs.setdefault(res, set()).update(rule["verbs"])
    assert verbs == {"deeppacketinspections": {"get", "list", "watch"},
                     "deeppacketinspections/status": {"get", "update"},
                     "intrusiondetections": {"get", "list", "watch"},
                     "felixconfigurations": {"get", "list", "watch"},
                     "pods": {"get", "list", "watch"},
                     "events": {"create"}}


def test_resources_come_from_intrusion_detection() -> None:
    ids = {"spec": {"componentResources": [{
        "componentName": "DeepPacketInspection",
        "resourceRequirements": {"limits": {"cpu": 2, "memory": "2Gi"},
                                 "requests": {"cpu": "500m"}}}]}}
    assert dpi_resources(ids) == {"limits": {"cpu": "2", "memory": "2Gi"},
                                  "requests": {"cpu": "500m"}}
    ds = _by_kind(render(intrusion_detection=ids))["DaemonSet"]
    assert ds["spec"]["template"]["spec"]["containers"][0]["resources"]["limits"]["cpu"] == "2"
    other = {"spec": {"componentResources": [{"componentName": "Other"}]}}
    assert dpi_resources(other)["limits"] == {"cpu": "1", "memory": "1Gi"}


def test_manifests_offline_cli_prints_yaml() -> None:
    proc = subprocess.run([sys.executable, "-m", "dpictl", "agent", "manifests", "--offline",
                           "--image", "x/y:z"], capture_output=True, text=True, timeout=60)
    assert proc.returncode == 0, proc.stderr
    docs = [d for d in yaml.safe_load_all(proc.stdout) if d]
    assert len(docs) == 9 and _by_kind(docs)["DaemonSet"]["spec"]["template"]["spec"][
        "containers"][0]["image"] == "x/y:z"


@pytest.mark.kube
def test_plan_adds_only_the_crds_the_cluster_lacks(clean_crds, kubeconfig) -> None:
    from .conftest import install_crds

    kinds = [d["metadata"]["name"] for d in agent_manifests.plan(clean_crds)
             if d["kind"] == "CustomResourceDefinition"]
    assert kinds == ["deeppacketinspections.dpictl.io", "intrusiondetections.dpictl.io"]
    install_crds(clean_crds, "calico-deeppacketinspections.crd.yaml")
    install_crds(clean_crds, "tigera-intrusiondetections.crd.yaml")
    b = KubernetesBackend(kubeconfig=kubeconfig)
    b.apply({"apiVersion": "operator.tigera.io/v1", "kind": "IntrusionDetection",
             "metadata": {"name": "tigera-secure"},
             "spec": {"componentResources": [{"componentName": "DeepPacketInspection",
                                              "resourceRequirements": {
                                                  "limits": {"cpu": "3", "memory": "3Gi"}}}]}})
    docs = agent_manifests.plan(b)
    assert not [d for d in docs if d["kind"] == "CustomResourceDefinition"]
    limits = _by_kind(docs)["DaemonSet"]["spec"]["template"]["spec"]["containers"][0][
        "resources"]["limits"]
    assert limits == {"cpu": "3", "memory": "3Gi"}


@pytest.mark.kube
def test_server_side_dry_run_accepts_everything(clean_crds) -> None:
    namespace = unique("sys")
    docs = agent_manifests.all_manifests(AgentOptions(namespace=namespace))
    crds = [d for d in docs if d["kind"] == "CustomResourceDefinition"]
    # CRDs first for real (custom objects need them), the rest as a dry run
    agent_manifests.install(clean_crds, crds)
    rest = [d for d in docs if d["kind"] not in ("CustomResourceDefinition", "Namespace")]
    clean_crds.apply(docs[2])                   # the namespace must exist for a dry run
    lines = agent_manifests.install(clean_crds, rest, dry_run=True)
    assert all(line.endswith("(server dry run)") for line in lines)
    from dpictl.errors import NotFound
    with pytest.raises(NotFound):
        clean_crds.get("DaemonSet", namespace, "dpictl-agent")


@pytest.mark.kube
def test_install_then_the_agent_identity_can_do_its_job_and_no_more(clean_crds, kubeconfig,
                                                                    make_ns) -> None:
    namespace = unique("sys")
    opts = AgentOptions(namespace=namespace, image="dk8/agent:test")
    lines = agent_manifests.install(clean_crds, agent_manifests.plan(clean_crds, opts))
    assert "daemonset/dpictl-agent created" in lines
    assert "customresourcedefinition/deeppacketinspections.dpictl.io created" in lines
    b = KubernetesBackend(kubeconfig=kubeconfig)
    ds = b.get("DaemonSet", namespace, "dpictl-agent")[0]
    assert ds["spec"]["template"]["spec"]["hostNetwork"] is True
    again = agent_manifests.install(b, agent_manifests.plan(b, opts))
    assert all(line.endswith("unchanged") for line in again), again

    # The lab's resources, made by an admin.
    ns = make_ns("red")
    dpi = load_fixture("lab-dpi.yaml")[0]
    dpi["metadata"]["namespace"] = ns
    b.apply(dpi)
    b.run_pod(ns, "red1", None, {"app": "red1"})
    patch_pod_running(b, ns, "red1", "10.244.7.1", node="dk8-node")

    if rbac_enforced(kubeconfig):
        agent = impersonating(kubeconfig, f"system:serviceaccount:{namespace}:dpictl-agent")
        source = KubeSource(agent, node="dk8-node", resolver=_NoResolve())
        assert [d["metadata"]["name"] for d in source.resources()
                if d["metadata"]["namespace"] == ns] == ["red-dpi-all"]
        assert any(e.name == "red1" for e in source.endpoints())
        source.settings()
        source.report_status(b.get("DeepPacketInspection", ns, "red-dpi-all")[0],
                             "dk8-node", True)
        status = b.get("DeepPacketInspection", ns, "red-dpi-all")[0]["status"]
        assert status["nodes"][0]["node"] == "dk8-node"
        assert status["nodes"][0]["active"]["success"] is True
        sink = KubeSink(agent)
        sink.add([make_alert(ns)])
        assert sink.published == 1 and sink.pending == 0
        with pytest.raises(PermissionDenied):
            agent.delete("Pod", ["red1"], namespace=ns)
        with pytest.raises(PermissionDenied):
            agent.apply(dpi)
        # the published ruleset; its node's flow logs, in its own namespace only
        from dpictl.agent.flow_logs import ConfigMapFlowSink
        from dpictl.backends.kubernetes.flowlogs import read_flowlogs
        from dpictl.backends.kubernetes.rules_configmap import publish_ruleset, read_ruleset
        from flowlogs.factories import make_flow

        publish_ruleset(b, namespace, {"managed.rules": b"# nothing yet\n"})
        assert read_ruleset(agent, namespace)[1] == {"managed.rules": b"# nothing yet\n"}
        ConfigMapFlowSink(agent, namespace, "dk8-node").write([make_flow()])
        assert read_flowlogs(b, namespace) == [make_flow()]
        b.apply({"apiVersion": "v1", "kind": "ConfigMap",
                 "metadata": {"name": "other", "namespace": ns}, "data": {"k": "v"}})
        with pytest.raises(PermissionDenied):
            agent.get("ConfigMap", namespace=ns, name="other")
        with pytest.raises(PermissionDenied):
            agent.delete("ConfigMap", ["dpictl-rules"], namespace=namespace)

    out = agent_manifests.uninstall(b, agent_manifests.all_manifests(opts))
    assert "daemonset/dpictl-agent deleted" in out and f"namespace/{namespace} deleted" in out
    assert not any("customresourcedefinition" in line for line in out)


class _NoResolve:
    def resolve(self, eps):
        return list(eps)


@pytest.mark.kube
def test_install_refuses_where_calicos_dpi_runs(backend, kubeconfig) -> None:
    from .conftest import purge_namespace

    backend.apply({"apiVersion": "v1", "kind": "Namespace", "metadata": {"name": "tigera-dpi"}})
    try:
        backend.apply({"apiVersion": "apps/v1", "kind": "DaemonSet",
                       "metadata": {"name": "tigera-dpi", "namespace": "tigera-dpi"},
                       "spec": {"selector": {"matchLabels": {"k8s-app": "tigera-dpi"}},
                                "template": {"metadata": {"labels": {"k8s-app": "tigera-dpi"}},
                                             "spec": {"containers": [{"name": "dpi",
                                                                      "image": "x"}]}}}})
        proc = subprocess.run([sys.executable, "-m", "dpictl", "agent", "install",
                               "--kubeconfig", str(kubeconfig), "--dry-run"],
                              capture_output=True, text=True, timeout=60)
        assert proc.returncode == 6 and "Traceback" not in proc.stderr
        assert "tigera-dpi" in proc.stderr and "--force" in proc.stderr
        from dpictl.lab.builders import kubernetes_lab
        env = kubernetes_lab(KubernetesBackend(kubeconfig=kubeconfig))
        env.inspection.start([])
        assert env.inspection.status()["provider"] == "calico"
        assert env.alerts.alerts(0) == []          # Calico's alerts are not in the API
    finally:
        # a finalized namespace does not take its objects along here: delete them first
        backend.delete("DaemonSet", ["tigera-dpi"], namespace="tigera-dpi")
        purge_namespace(backend, "tigera-dpi")
