"""Namespaces, pods, apply/get/delete and endpoints against the real test API server.

The server has no kubelet: a test plays one by binding a pod to a node and patching its
status (phase Running, podIP), which is exactly what the backend then has to notice.
"""

from __future__ import annotations

import pytest

from dpictl.backends.base import Backend
from dpictl.backends.kubernetes import KubernetesBackend
from dpictl.backends.kubernetes.pods import calico_interface
from dpictl.errors import ClusterError, NotFound

from .conftest import patch_pod_running, unique

pytestmark = pytest.mark.kube


def test_is_a_backend(backend: KubernetesBackend) -> None:
    assert isinstance(backend, Backend)
    assert backend.name == "kubernetes"


def test_namespace_create_get_duplicate_delete(backend: KubernetesBackend) -> None:
    name = unique("ns")
    made = backend.create_namespace(name)
    assert made["kind"] == "Namespace" and made["apiVersion"] == "v1"
    assert made["metadata"]["labels"]["app.kubernetes.io/managed-by"] == "dpictl"
    listed = [n["metadata"]["name"] for n in backend.get("Namespace")]
    assert name in listed
    with pytest.raises(ClusterError, match=f"namespace {name} already exists"):
        backend.create_namespace(name)
    assert backend.delete("Namespace", [name]) == [name]
    # no namespace controller here: it stays Terminating, as the README of the server says
    assert backend.get("Namespace", name=name)[0]["status"]["phase"] == "Terminating"


def test_run_pod_is_kubectl_run_with_the_lab_image(backend, make_ns) -> None:
    ns = make_ns("pods")
    pod = backend.run_pod(ns, "red1", None, {"app": "red1"})
    assert pod["kind"] == "Pod" and pod["metadata"]["labels"] == {"app": "red1"}
    assert pod["spec"]["containers"][0]["image"] == "wbitt/network-multitool"
    got = backend.get("Pod", ns, "red1")[0]
    assert got["metadata"]["uid"] == pod["metadata"]["uid"]
    assert "managedFields" not in got["metadata"]
    with pytest.raises(ClusterError, match="already exists"):
        backend.run_pod(ns, "red1", "busybox", {})


def test_wait_pods_running_reports_progress_and_returns(backend, make_ns) -> None:
    ns = make_ns("wait")
    for name in ("a", "b"):
        backend.run_pod(ns, name, None, {"app": name})
    seen: list[tuple[int, int]] = []
    patch_pod_running(backend, ns, "a", "10.244.0.10")

    def progress(done: int, total: int, message: str) -> None:
        seen.append((done, total))
        if done == 1:               # the "kubelet" starts b while we wait
            patch_pod_running(backend, ns, "b", "10.244.0.11")

    backend.wait_pods_running(ns, ["a", "b"], timeout=10, progress=progress)
    assert seen[0] == (1, 2) and seen[-1] == (2, 2)


def test_wait_pods_running_times_out_naming_each_pod_and_why(backend, make_ns) -> None:
    ns = make_ns("late")
    backend.run_pod(ns, "slow", None, {})
    backend.run_pod(ns, "fine", None, {})
    patch_pod_running(backend, ns, "fine", "10.244.0.12")
    with pytest.raises(ClusterError) as err:
        backend.wait_pods_running(ns, ["slow", "fine"], timeout=1.0)
    msg = str(err.value)
    assert "not Running after 1s" in msg and "slow (Pending, not scheduled" in msg
    assert "fine" not in msg.split(":", 1)[1]


def test_wait_for_a_missing_pod_times_out(backend, make_ns) -> None:
    ns = make_ns("missing")
    with pytest.raises(ClusterError, match="ghost \\(missing\\)"):
        backend.wait_pods_running(ns, ["ghost"], timeout=0.5)


def test_endpoints_are_running_pods_with_ips_and_calico_labels(backend, make_ns) -> None:
    ns = make_ns("eps")
    backend.run_pod(ns, "red1", None, {"app": "red1"})
    backend.run_pod(ns, "pending", None, {"app": "p"})
    backend.apply({"apiVersion": "v1", "kind": "Pod",
                   "metadata": {"name": "hostnet", "namespace": ns},
                   "spec": {"hostNetwork": True, "containers": [{"name": "c", "image": "x"}]}})
    patch_pod_running(backend, ns, "red1", "10.244.1.5", node="dk8-node-a")
    patch_pod_running(backend, ns, "hostnet", "10.0.0.1", node="dk8-node-a")
    mine = [e for e in backend.endpoints() if e.namespace == ns]
    assert [e.name for e in mine] == ["red1"]            # not pending, not host-network
    ep = mine[0]
    assert (ep.ip, ep.node) == ("10.244.1.5", "dk8-node-a")
    assert ep.interface == calico_interface(ns, "red1")
    assert ep.labels["app"] == "red1"
    assert ep.labels["projectcalico.org/namespace"] == ns
    assert ep.labels["projectcalico.org/orchestrator"] == "k8s"
    assert [e.name for e in backend.endpoints(node="dk8-node-a") if e.namespace == ns] == ["red1"]
    assert not [e for e in backend.endpoints(node="dk8-node-b") if e.namespace == ns]


def test_calico_interface_rule_matches_calicos_examples() -> None:
    assert calico_interface("red", "red1") == "cali08ce55c424a"
    assert calico_interface("red", "red2") == "cali5be78d22d70"


def test_apply_created_unchanged_configured(backend, make_ns) -> None:
    ns = make_ns("apply")
    pod = {"apiVersion": "v1", "kind": "Pod",
           "metadata": {"name": "web", "namespace": ns, "labels": {"app": "web"}},
           "spec": {"containers": [{"name": "web", "image": "nginx"}]}}
    obj, verdict = backend.apply(pod)
    assert verdict == "created" and obj["metadata"]["namespace"] == ns
    assert backend.apply(pod)[1] == "unchanged"
    pod["metadata"]["labels"]["tier"] = "front"
    obj, verdict = backend.apply(pod)
    assert verdict == "configured" and obj["metadata"]["labels"]["tier"] == "front"
    # a manifest read back from `get -o yaml` (server fields and all) applies again; the
    # first time dpictl takes ownership of the defaulted fields, as kubectl apply would
    readback = backend.get("Pod", ns, "web")[0]
    assert backend.apply(readback)[1] in ("configured", "unchanged")
    assert backend.apply(readback)[1] == "unchanged"


def test_patch_merges_and_bad_patch_type_is_refused(backend, make_ns) -> None:
    ns = make_ns("patch")
    backend.run_pod(ns, "p", None, {"app": "p"})
    out = backend.patch("Pod", "p", {"metadata": {"labels": {"x": "1"}}}, namespace=ns)
    assert out["metadata"]["labels"] == {"app": "p", "x": "1"}
    from dpictl.errors import ManifestError
    with pytest.raises(ManifestError, match="unknown patch type"):
        backend.patch("Pod", "p", {}, namespace=ns, patch_type="yaml")


def test_get_and_delete_missing_objects_are_not_found(backend, make_ns) -> None:
    ns = make_ns("gone")
    with pytest.raises(NotFound, match=f'pods "nope" not found in namespace {ns}'):
        backend.get("Pod", ns, "nope")
    backend.run_pod(ns, "here", None, {})
    with pytest.raises(NotFound, match="nope") as err:
        backend.delete("Pod", ["here", "nope"], namespace=ns)
    assert "deleted: here" in str(err.value)


def test_invalid_manifest_is_a_manifest_error(backend, make_ns) -> None:
    from dpictl.errors import ManifestError

    ns = make_ns("bad")
    with pytest.raises(ManifestError, match="spec.containers"):
        backend.apply({"apiVersion": "v1", "kind": "Pod",
                       "metadata": {"name": "x", "namespace": ns}, "spec": {"containers": []}})


def test_down_deletes_only_namespaces_dpictl_created(backend) -> None:
    mine = unique("down")
    backend.create_namespace(mine)
    foreign = unique("foreign")
    backend.apply({"apiVersion": "v1", "kind": "Namespace", "metadata": {"name": foreign}})
    lines = backend.down()
    assert f"namespace/{mine} deleted" in lines
    assert not any(foreign in line for line in lines)
    assert backend.get("Namespace", name=foreign)[0]["status"]["phase"] == "Active"
    backend.delete("Namespace", [foreign])


def test_apply_without_server_side_apply_falls_back_to_create_and_replace(backend, make_ns,
                                                                          monkeypatch) -> None:
    """An aggregated API (Calico's API server) may answer 415 to server-side apply."""
    from dpictl.backends.kubernetes.api_errors import Unsupported

    real = backend.conn.request
    refused = []

    def no_ssa(method, path, **kw):
        if kw.get("content_type") == "application/apply-patch+yaml":
            refused.append(path)
            raise Unsupported("415")
        return real(method, path, **kw)
    monkeypatch.setattr(backend.conn, "request", no_ssa)
    ns = make_ns("nossa")
    pod = {"apiVersion": "v1", "kind": "Pod",
           "metadata": {"name": "web", "namespace": ns, "labels": {"app": "web"}},
           "spec": {"containers": [{"name": "web", "image": "nginx"}]}}
    assert backend.apply(pod)[1] == "created"
    ns_obj = {"apiVersion": "v1", "kind": "Namespace", "metadata": {"name": ns,
                                                                    "labels": {"a": "1"}}}
    obj, verdict = backend.apply(ns_obj)
    assert verdict == "configured" and obj["metadata"]["labels"]["a"] == "1"
    assert backend.apply(ns_obj)[1] == "unchanged"
    assert len(refused) == 3
