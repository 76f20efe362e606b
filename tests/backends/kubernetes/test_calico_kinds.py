"""FelixConfiguration, DeepPacketInspection and IntrusionDetection on clusters with and without
Calico's APIs: real CRDs installed into (and removed from) the test API server."""

from __future__ import annotations

import pytest

from dpictl.backends.kubernetes import KubernetesBackend
from dpictl.backends.kubernetes.agent_manifests import render
from dpictl.backends.kubernetes.api_errors import Conflict
from dpictl.errors import NotFound

from .conftest import install_crds, load_fixture

pytestmark = pytest.mark.kube


def _fresh(kubeconfig) -> KubernetesBackend:
    return KubernetesBackend(kubeconfig=kubeconfig)


def _install_dpictl_crds(backend: KubernetesBackend) -> None:
    from dpictl.backends.kubernetes.agent_manifests import _wait_established

    crds = [d for d in render(crds_for=("DeepPacketInspection", "IntrusionDetection"))
            if d["kind"] == "CustomResourceDefinition"]
    for crd in crds:
        backend.apply(crd)
    _wait_established(backend, [c["metadata"]["name"] for c in crds])


def _lab_dpi(namespace: str) -> dict:
    dpi = load_fixture("lab-dpi.yaml")[0]
    dpi["metadata"]["namespace"] = namespace
    return dpi


def test_felix_without_calico_is_a_clear_not_found(clean_crds) -> None:
    with pytest.raises(NotFound) as err:
        clean_crds.patch("FelixConfiguration", "default",
                         {"spec": {"flowLogsFlushInterval": "30s"}})
    assert "does not serve FelixConfiguration" in str(err.value)
    assert "crd.projectcalico.org/v1" in str(err.value)
    assert "Calico" in err.value.hint


def test_felix_patch_creates_default_then_merges(clean_crds, kubeconfig) -> None:
    install_crds(clean_crds, "calico-felixconfigurations.crd.yaml")
    b = _fresh(kubeconfig)
    made = b.patch("FelixConfiguration", "default", {"spec": {"flowLogsFlushInterval": "30s"}})
    assert made["apiVersion"] == "crd.projectcalico.org/v1"
    assert made["spec"] == {"flowLogsFlushInterval": "30s"}
    b.patch("FelixConfiguration", "default", {"spec": {"dnsLogsFlushInterval": "10s"}})
    got = b.get("FelixConfiguration", name="default")[0]
    assert got["spec"] == {"flowLogsFlushInterval": "30s", "dnsLogsFlushInterval": "10s"}
    # patching another kind's missing object is still an error
    with pytest.raises(NotFound):
        b.patch("Namespace", "dk8-none-such", {"metadata": {"labels": {"a": "b"}}})


def test_dpi_without_any_crd_says_how_to_get_one(clean_crds, make_ns) -> None:
    ns = make_ns("nodpi")
    with pytest.raises(NotFound) as err:
        clean_crds.apply(_lab_dpi(ns))
    assert "DeepPacketInspection" in str(err.value)
    assert "dpictl agent install" in err.value.hint
    assert not clean_crds.calico_serves_dpi()


def test_lab_dpi_lands_in_dpictl_group_and_reads_back_as_calicos(clean_crds, kubeconfig,
                                                                  make_ns) -> None:
    _install_dpictl_crds(clean_crds)
    b = _fresh(kubeconfig)
    ns = make_ns("dpi")
    obj, verdict = b.apply(_lab_dpi(ns))
    assert verdict == "created"
    assert obj["apiVersion"] == "projectcalico.org/v3"
    assert b.dpi_api_version() == "dpictl.io/v1" and not b.calico_serves_dpi()
    raw = b.conn.request("GET", f"/apis/dpictl.io/v1/namespaces/{ns}/deeppacketinspections/"
                                "red-dpi-all")
    assert raw["apiVersion"] == "dpictl.io/v1" and raw["spec"] == {"selector": "all()"}
    listed = b.get("DeepPacketInspection", namespace=ns)
    assert [(d["apiVersion"], d["metadata"]["name"]) for d in listed] == \
        [("projectcalico.org/v3", "red-dpi-all")]
    assert b.apply(listed[0])[1] in ("unchanged", "configured")
    assert b.apply(_lab_dpi(ns))[1] == "unchanged"
    assert b.delete("DeepPacketInspection", ["red-dpi-all"], namespace=ns) == ["red-dpi-all"]


def test_calicos_crd_group_is_preferred_when_served(clean_crds, kubeconfig, make_ns) -> None:
    _install_dpictl_crds(clean_crds)
    install_crds(clean_crds, "calico-deeppacketinspections.crd.yaml")
    b = _fresh(kubeconfig)
    assert b.dpi_api_version() == "crd.projectcalico.org/v1"
    assert b.calico_serves_dpi()
    ns = make_ns("calicodpi")
    obj, _ = b.apply(_lab_dpi(ns))
    assert obj["apiVersion"] == "crd.projectcalico.org/v1"
    raw = b.conn.request("GET", "/apis/crd.projectcalico.org/v1/namespaces/"
                                f"{ns}/deeppacketinspections/red-dpi-all")
    assert raw["spec"]["selector"] == "all()"


def test_dpi_status_update_and_conflict(clean_crds, kubeconfig, make_ns) -> None:
    _install_dpictl_crds(clean_crds)
    b = _fresh(kubeconfig)
    ns = make_ns("status")
    obj, _ = b.apply(_lab_dpi(ns))
    stale = b.get("DeepPacketInspection", ns, "red-dpi-all")[0]
    obj["status"] = {"nodes": [{"node": "n1", "active": {"success": True,
                                                        "lastUpdated": "2026-01-01T00:00:00Z"}}]}
    updated = b.update_status("DeepPacketInspection", obj)
    assert updated["status"]["nodes"][0]["node"] == "n1"
    assert updated["apiVersion"] == "projectcalico.org/v3"
    # spec changes through the status subresource are ignored; stale writes conflict
    stale["status"] = {"nodes": []}
    with pytest.raises(Conflict):
        b.update_status("DeepPacketInspection", stale)
    # apply does not wipe the status a node wrote
    b.apply(_lab_dpi(ns))
    assert b.get("DeepPacketInspection", ns, "red-dpi-all")[0]["status"]["nodes"][0]["node"] \
        == "n1"


def test_intrusion_detection_in_operator_group_or_dpictls(clean_crds, kubeconfig) -> None:
    ids = {"apiVersion": "operator.tigera.io/v1", "kind": "IntrusionDetection",
           "metadata": {"name": "tigera-secure"},
           "spec": {"componentResources": [{"componentName": "DeepPacketInspection",
                                            "resourceRequirements": {
                                                "limits": {"cpu": "1", "memory": "1Gi"},
                                                "requests": {"cpu": "100m",
                                                             "memory": "100Mi"}}}]}}
    with pytest.raises(NotFound, match="IntrusionDetection"):
        clean_crds.apply(ids)
    _install_dpictl_crds(clean_crds)
    b = _fresh(kubeconfig)
    obj, verdict = b.apply(ids)
    assert (obj["apiVersion"], verdict) == ("operator.tigera.io/v1", "created")
    assert b.get("IntrusionDetection", name="tigera-secure")[0]["spec"] == ids["spec"]
    install_crds(clean_crds, "tigera-intrusiondetections.crd.yaml")
    b = _fresh(kubeconfig)
    assert b.ref("IntrusionDetection").group == "operator.tigera.io"
    obj, verdict = b.apply(ids)
    assert verdict == "created"          # a different store: the operator's
