"""Quantities, durations and the kind aliases users type."""

from __future__ import annotations

import pytest

from dpictl.errors import ManifestError, UsageError
from dpictl.resources.kinds import resolve_kind
from dpictl.duration import parse_duration
from dpictl.resources.quantity import parse_cpu_millicores, parse_memory_bytes


@pytest.mark.parametrize("text,millis", [("1", 1000), ("500m", 500), ("0.5", 500),
                                         ("2", 2000), (1, 1000), ("1.5", 1500)])
def test_cpu(text, millis: int) -> None:
    assert parse_cpu_millicores(text) == millis


@pytest.mark.parametrize("text,size", [("1Gi", 2**30), ("100Mi", 100 * 2**20), ("1G", 10**9),
                                       ("128974848", 128974848), ("129M", 129 * 10**6),
                                       ("1e3", 1000), ("512Ki", 512 * 1024)])
def test_memory(text, size: int) -> None:
    assert parse_memory_bytes(text) == size


@pytest.mark.parametrize("bad", ["", "1GB", "-1", "1 Gi", "abc", True])
def test_bad_quantities(bad) -> None:
    with pytest.raises(ManifestError):
        parse_memory_bytes(bad)


@pytest.mark.parametrize("text,seconds", [("30s", 30), ("1m30s", 90), ("5m0s", 300),
                                          ("1h", 3600), ("500ms", 0.5), ("0", 0)])
def test_durations(text: str, seconds: float) -> None:
    assert parse_duration(text) == seconds


@pytest.mark.parametrize("bad", ["", "s", "1x", "30s5"])
def test_bad_durations(bad: str) -> None:
    with pytest.raises(ManifestError, match="invalid duration"):
        parse_duration(bad, ManifestError)


@pytest.mark.parametrize("alias,kind", [
    ("deeppacketinspection", "DeepPacketInspection"),
    ("deeppacketinspections", "DeepPacketInspection"),
    ("dpi", "DeepPacketInspection"),
    ("DPI", "DeepPacketInspection"),
    ("deeppacketinspection.projectcalico.org", "DeepPacketInspection"),
    ("deeppacketinspections.projectcalico.org", "DeepPacketInspection"),
    ("deeppacketinspection.p", "DeepPacketInspection"),
    ("DeepPacketInspection", "DeepPacketInspection"),
    ("pods", "Pod"), ("pod", "Pod"), ("po", "Pod"),
    ("namespaces", "Namespace"), ("namespace", "Namespace"), ("ns", "Namespace"),
    ("intrusiondetection", "IntrusionDetection"), ("intrusiondetections", "IntrusionDetection"),
    ("intrusiondetections.operator.tigera.io", "IntrusionDetection"),
    ("felixconfiguration", "FelixConfiguration"), ("felixconfigurations", "FelixConfiguration"),
    ("felixconfiguration.projectcalico.org", "FelixConfiguration"),
])
def test_kind_aliases(alias: str, kind: str) -> None:
    assert resolve_kind(alias).kind == kind


def test_qualified_names_are_what_kubectl_prints() -> None:
    assert resolve_kind("dpi").qualified == "deeppacketinspection.projectcalico.org"
    assert resolve_kind("ns").qualified == "namespace"
    assert resolve_kind("dpi").namespaced and not resolve_kind("felixconfiguration").namespaced


@pytest.mark.parametrize("bad", ["services", "dpis", "pods.projectcalico.org", ""])
def test_unknown_kind(bad: str) -> None:
    with pytest.raises(UsageError, match="doesn't have a resource type"):
        resolve_kind(bad)
