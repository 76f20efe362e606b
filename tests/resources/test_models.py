"""Manifest validation and typed models: what is accepted, and the errors for what is not."""

from __future__ import annotations

import pytest

from dpictl.errors import ManifestError
from dpictl.resources.labels import dpi_selector, workload_labels
from dpictl.resources.models import (DeepPacketInspection, FelixConfiguration,
                                     IntrusionDetection, parse_label_list, record_node_status,
                                     validate_manifest)

LAB_DPI = {"apiVersion": "projectcalico.org/v3", "kind": "DeepPacketInspection",
           "metadata": {"name": "red-dpi-all", "namespace": "red"},
           "spec": {"selector": "all()"}}
LAB_IDS = {"apiVersion": "operator.tigera.io/v1", "kind": "IntrusionDetection",
           "metadata": {"name": "tigera-secure"},
           "spec": {"componentResources": [{
               "componentName": "DeepPacketInspection",
               "resourceRequirements": {"limits": {"cpu": "1", "memory": "1Gi"},
                                        "requests": {"cpu": "100m", "memory": "100Mi"}}}]}}


def _with(base: dict, **changes) -> dict:
    out = {**base, **changes}
    return out


def test_lab_dpi_validates_and_keeps_its_namespace() -> None:
    out = validate_manifest(LAB_DPI)
    assert out["metadata"] == {"name": "red-dpi-all", "namespace": "red"}
    dpi = DeepPacketInspection.from_manifest(out)
    assert (dpi.key, str(dpi.selector)) == ("red/red-dpi-all", "all()")


def test_namespaced_kind_defaults_to_given_then_default_namespace() -> None:
    bare = _with(LAB_DPI, metadata={"name": "x"})
    assert validate_manifest(bare, "blue")["metadata"]["namespace"] == "blue"
    assert validate_manifest(bare)["metadata"]["namespace"] == "default"


def test_namespace_mismatch_is_an_error_like_kubectl() -> None:
    with pytest.raises(ManifestError, match="does not match the namespace 'blue'"):
        validate_manifest(LAB_DPI, "blue")


def test_cluster_scoped_kind_drops_namespace_and_status() -> None:
    out = validate_manifest({**LAB_IDS, "metadata": {"name": "tigera-secure", "namespace": "x"},
                             "status": {"state": "Ready"}})
    assert "namespace" not in out["metadata"] and "status" not in out


@pytest.mark.parametrize("manifest,message", [
    ([], "must be a mapping"),
    ({"kind": "DeepPacketInspection"}, "missing apiVersion or kind"),
    ({"apiVersion": "v1", "kind": "Service", "metadata": {"name": "x"}}, "unsupported kind"),
    (_with(LAB_DPI, apiVersion="crd.projectcalico.org/v1"), "must have apiVersion"),
    (_with(LAB_DPI, metadata={"namespace": "red"}), "metadata.name is required"),
    (_with(LAB_DPI, metadata={"name": "Red_DPI"}), "invalid DeepPacketInspection name"),
    (_with(LAB_DPI, spec={"selector": "app =="}), "spec.selector: invalid selector"),
    (_with(LAB_DPI, spec={"selector": 5}), "must be a string"),
    (_with(LAB_DPI, spec=["x"]), "spec must be a mapping"),
    (_with(LAB_DPI, metadata={"name": "x", "labels": {"app": 1}}), "must be a string"),
    (_with(LAB_DPI, metadata={"name": "x", "labels": {"bad key!": "v"}}), "invalid label key"),
    (_with(LAB_IDS, metadata={"name": "other"}), "must be named 'tigera-secure'"),
    ({**LAB_IDS, "spec": {"componentResources": [{"componentName": "Snort"}]}},
     "componentName must be 'DeepPacketInspection'"),
    ({**LAB_IDS, "spec": {"componentResources": [{
        "componentName": "DeepPacketInspection",
        "resourceRequirements": {"limits": {"cpu": "lots"}}}]}}, "invalid quantity 'lots'"),
    ({**LAB_IDS, "spec": {"componentResources": [{
        "componentName": "DeepPacketInspection",
        "resourceRequirements": {"limits": {"gpu": "1"}}}]}}, "unsupported resource"),
    ({**LAB_IDS, "spec": {"componentResources": [{
        "componentName": "DeepPacketInspection",
        "resourceRequirements": {"limits": {"cpu": "100m"}, "requests": {"cpu": "1"}}}]}},
     "requests must not exceed limits"),
    ({"apiVersion": "projectcalico.org/v3", "kind": "FelixConfiguration",
      "metadata": {"name": "x"}}, "must be 'default'"),
    ({"apiVersion": "projectcalico.org/v3", "kind": "FelixConfiguration",
      "metadata": {"name": "default"}, "spec": {"flowLogsFlushInterval": "soon"}},
     "invalid duration"),
    ({"apiVersion": "projectcalico.org/v3", "kind": "FelixConfiguration",
      "metadata": {"name": "default"}, "spec": {"flowLogsFlushInterval": 30}},
     "duration string"),
    ({"apiVersion": "v1", "kind": "Namespace", "metadata": {"name": "a.b"}},
     "invalid namespace name"),
    ({"apiVersion": "v1", "kind": "Pod", "metadata": {"name": "p"}, "spec": {}},
     "spec.containers must be a non-empty list"),
])
def test_bad_manifests_give_clear_errors(manifest, message: str) -> None:
    with pytest.raises(ManifestError, match=message) as info:
        validate_manifest(manifest)
    assert "\n" not in str(info.value)


def test_intrusion_detection_reads_lab_limits() -> None:
    res = IntrusionDetection.from_manifest(validate_manifest(LAB_IDS)).dpi_resources
    assert (res.limits_cpu, res.limits_memory) == (1000, 2**30)
    assert (res.requests_cpu, res.requests_memory) == (100, 100 * 2**20)


def test_intrusion_detection_defaults_match_calico() -> None:
    res = IntrusionDetection.from_manifest({**LAB_IDS, "spec": {}}).dpi_resources
    assert (res.limits_cpu, res.limits_memory, res.requests_cpu) == (1000, 2**30, 100)


def test_felix_flush_interval_parses_go_durations() -> None:
    def felix(value):
        return FelixConfiguration.from_manifest({"metadata": {"name": "default"},
                                                 "spec": {"flowLogsFlushInterval": value}})
    assert felix("30s").flow_logs_flush_interval == 30.0
    assert felix("1m30s").flow_logs_flush_interval == 90.0
    assert FelixConfiguration.from_manifest(
        {"metadata": {"name": "default"}}).flow_logs_flush_interval == 300.0


def test_dpi_selector_scopes_to_its_namespace_with_implicit_labels() -> None:
    sel = dpi_selector(LAB_DPI)
    assert str(sel) == '(all() && projectcalico.org/namespace == "red")'
    assert sel.matches(workload_labels("red", {"app": "red1"}))
    assert not sel.matches(workload_labels("blue", {"app": "blue1"}))
    app_only = dpi_selector({**LAB_DPI, "spec": {"selector": "app == 'red2'"}})
    assert app_only.matches(workload_labels("red", {"app": "red2"}))
    assert not app_only.matches(workload_labels("red", {"app": "red1"}))


def test_empty_selector_means_all() -> None:
    assert dpi_selector({**LAB_DPI, "spec": {}}).matches(workload_labels("red", {}))


def test_workload_labels_carry_calico_implicit_labels() -> None:
    labels = workload_labels("red", {"app": "red1", "projectcalico.org/namespace": "spoof"})
    assert labels == {"app": "red1", "projectcalico.org/namespace": "red",
                      "projectcalico.org/orchestrator": "k8s",
                      "projectcalico.org/serviceaccount": "default"}


def test_node_status_keeps_one_entry_per_node_and_last_ten_errors() -> None:
    status = None
    for i in range(12):
        status = record_node_status(status, "node-a", success=False, now=f"t{i}",
                                    error=f"e{i}")
    status = record_node_status(status, "node-b", success=True, now="t99")
    nodes = {n["node"]: n for n in status["nodes"]}
    assert [e["message"] for e in nodes["node-a"]["errorConditions"]] == \
        [f"e{i}" for i in range(2, 12)]
    assert nodes["node-b"]["active"] == {"success": True, "lastUpdated": "t99"}
    parsed = DeepPacketInspection.from_manifest({**LAB_DPI, "status": status})
    assert {n.node for n in parsed.nodes} == {"node-a", "node-b"}


def test_label_list_parsing() -> None:
    assert parse_label_list("app=red1, tier=web") == {"app": "red1", "tier": "web"}
    assert parse_label_list("") == {}
    with pytest.raises(ManifestError, match="invalid label"):
        parse_label_list("app")
