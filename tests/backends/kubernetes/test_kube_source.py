"""The agent's Kubernetes source: watch caches on the real API server, settings, status with
409 retries; and the interface resolver on real links in a scratch network namespace."""

from __future__ import annotations

import dataclasses

import pytest

from dpictl.agent.kube_interfaces import InterfaceResolver
from dpictl.agent.kube_source import KubeSource
from dpictl.backends.base import WorkloadEndpoint
from dpictl.backends.kubernetes import KubernetesBackend
from dpictl.backends.kubernetes.watch_cache import wait_until

from .conftest import install_crds, load_fixture, patch_pod_running
from .test_calico_kinds import _install_dpictl_crds


class _Identity:
    def resolve(self, eps):
        return list(eps)


def _dpi(ns: str, name: str = "red-dpi-all", selector: str = "all()") -> dict:
    dpi = load_fixture("lab-dpi.yaml")[0]
    dpi["metadata"].update(namespace=ns, name=name)
    dpi["spec"]["selector"] = selector
    return dpi


@pytest.mark.kube
def test_watches_follow_resources_and_pods(clean_crds, kubeconfig, make_ns) -> None:
    source = KubeSource(KubernetesBackend(kubeconfig=kubeconfig), node="dk8-n1",
                        resolver=_Identity())
    source.start()
    try:
        assert source.resources() == []            # no CRD yet: nothing, and no error
        _install_dpictl_crds(clean_crds)
        ns = make_ns("watch")
        clean_crds.apply(_dpi(ns))

        def names() -> list[str]:
            return [d["metadata"]["name"] for d in source.resources()
                    if d["metadata"]["namespace"] == ns]
        assert wait_until(lambda: names() == ["red-dpi-all"], 20), source.dpis.last_error
        assert source.resources()[0]["apiVersion"] == "projectcalico.org/v3"

        clean_crds.run_pod(ns, "red1", None, {"app": "red1"})
        clean_crds.run_pod(ns, "far", None, {"app": "far"})
        patch_pod_running(clean_crds, ns, "red1", "10.244.9.1", node="dk8-n1")
        patch_pod_running(clean_crds, ns, "far", "10.244.9.2", node="dk8-n2")

        def eps() -> dict[str, WorkloadEndpoint]:
            return {e.name: e for e in source.endpoints() if e.namespace == ns}
        assert wait_until(lambda: set(eps()) == {"red1", "far"}, 10)
        assert source.pods.synced                     # the DPI watch syncs after its back-off
        assert wait_until(lambda: source.dpis.synced, 20)
        assert (eps()["red1"].node, eps()["far"].node) == ("dk8-n1", "dk8-n2")

        clean_crds.delete("DeepPacketInspection", ["red-dpi-all"], namespace=ns)
        assert wait_until(lambda: names() == [], 10)
        clean_crds.delete("Pod", ["far"], namespace=ns)
        assert wait_until(lambda: set(eps()) == {"red1"}, 10)
    finally:
        source.stop()


@pytest.mark.kube
def test_settings_from_intrusion_detection_and_felix(clean_crds, kubeconfig) -> None:
    source = KubeSource(clean_crds, node="dk8-n1", resolver=_Identity(), settings_ttl=0)
    plain = source.settings()
    assert (plain.cpu, plain.memory, plain.flush_interval) == (None, None, 300.0)
    install_crds(clean_crds, "calico-felixconfigurations.crd.yaml")
    _install_dpictl_crds(clean_crds)
    b = KubernetesBackend(kubeconfig=kubeconfig)
    b.patch("FelixConfiguration", "default", {"spec": {"flowLogsFlushInterval": "30s"}})
    b.apply({"apiVersion": "operator.tigera.io/v1", "kind": "IntrusionDetection",
             "metadata": {"name": "tigera-secure"},
             "spec": {"componentResources": [{"componentName": "DeepPacketInspection",
                                              "resourceRequirements": {
                                                  "limits": {"cpu": "1", "memory": "1Gi"}}}]}})
    s = KubeSource(b, node="dk8-n1", resolver=_Identity(), settings_ttl=0).settings()
    assert (s.cpu, s.memory, s.flush_interval) == ("1", "1Gi", 30.0)


@pytest.mark.kube
def test_report_status_keeps_other_nodes_and_retries_on_conflict(clean_crds, kubeconfig,
                                                                 make_ns) -> None:
    _install_dpictl_crds(clean_crds)
    b = KubernetesBackend(kubeconfig=kubeconfig)
    ns = make_ns("status")
    dpi, _ = b.apply(_dpi(ns))
    other = KubernetesBackend(kubeconfig=kubeconfig)
    source = KubeSource(b, node="dk8-n1", resolver=_Identity())

    real_get = b.get
    calls = {"n": 0}

    def racing_get(*args, **kw):
        got = real_get(*args, **kw)
        calls["n"] += 1
        if calls["n"] == 1:       # another node writes between our read and our update
            KubeSource(other, node="dk8-n2", resolver=_Identity()).report_status(
                dpi, "dk8-n2", True)
        return got
    b.get = racing_get

    source.report_status(dpi, "dk8-n1", False, error="failed to start DPI on cali123")
    assert calls["n"] == 2                             # one 409, one retry
    nodes = {n["node"]: n for n in real_get("DeepPacketInspection", ns, name="red-dpi-all")[0]
             ["status"]["nodes"]}
    assert set(nodes) == {"dk8-n1", "dk8-n2"}
    assert nodes["dk8-n1"]["active"]["success"] is False
    assert nodes["dk8-n1"]["errorConditions"][0]["message"] == "failed to start DPI on cali123"
    assert nodes["dk8-n2"]["active"]["success"] is True
    for i in range(12):
        source.report_status(dpi, "dk8-n1", False, error=f"e{i}")
    errors = [c["message"] for c in {n["node"]: n for n in real_get(
        "DeepPacketInspection", ns, name="red-dpi-all")[0]["status"]["nodes"]}["dk8-n1"][
        "errorConditions"]]
    assert errors == [f"e{i}" for i in range(2, 12)]       # the latest 10, as Calico keeps


# -- the interface resolver, on real links ---------------------------------------------------

NETNS = "dk8-ifres"


@pytest.fixture()
def scratch_netns():
    from pyroute2 import NetNS, netns

    if NETNS in netns.listnetns():
        netns.remove(NETNS)
    netns.create(NETNS)
    ipr = NetNS(NETNS)
    try:
        # "veth" pair as another CNI would name it, and one with Calico's name
        ipr.link("add", ifname="vethdk8a", kind="veth", peer="vethdk8b")
        ipr.link("add", ifname="cali08ce55c424a", kind="veth", peer="dk8peer")
        idx = {name: ipr.link_lookup(ifname=name)[0]
               for name in ("vethdk8a", "vethdk8b", "cali08ce55c424a", "dk8peer")}
        for i in idx.values():
            ipr.link("set", index=i, state="up")
        ipr.addr("add", index=idx["vethdk8b"], address="192.0.2.1", prefixlen=30)
        ipr.route("add", dst="10.99.0.7/32", oif=idx["vethdk8a"])
        yield ipr
    finally:
        ipr.close()
        netns.remove(NETNS)


@pytest.mark.root
def test_resolver_prefers_calicos_name_else_the_route(scratch_netns) -> None:
    cali = WorkloadEndpoint("red", "red1", "10.99.0.9", "n", "cali08ce55c424a", {})
    other_cni = WorkloadEndpoint("red", "red2", "10.99.0.7", "n", "cali5be78d22d70", {})
    nowhere = WorkloadEndpoint("red", "red3", "203.0.113.5", "n", "cali0000000000x", {})
    out = InterfaceResolver(netns=NETNS).resolve([cali, other_cni, nowhere])
    assert out[0] == cali
    assert out[1] == dataclasses.replace(other_cni, interface="vethdk8a")
    assert out[2] == nowhere                      # no route: keep Calico's name


def test_resolver_reuses_its_answer_while_endpoints_stay_the_same() -> None:
    now = [0.0]
    resolver = InterfaceResolver(ttl=10, clock=lambda: now[0])
    calls = []
    resolver._lookup = lambda eps: calls.append(len(eps)) or list(eps)
    a = WorkloadEndpoint("red", "red1", "10.0.0.1", "n", "cali1", {"app": "red1"})
    b = WorkloadEndpoint("red", "red2", "10.0.0.2", "n", "cali2", {"app": "red2"})
    resolver.resolve([a])
    resolver.resolve([a])
    assert calls == [1]
    resolver.resolve([a, b])                      # a new pod: look again
    now[0] = 11.0
    resolver.resolve([a, b])                      # stale: look again
    assert calls == [1, 2, 2]
