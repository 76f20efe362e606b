"""Kubernetes-shaped resources: kinds, models, Calico selectors, manifests and their output."""

from __future__ import annotations

from dpictl.resources.kinds import KINDS, KindInfo, resolve_kind
from dpictl.resources.labels import dpi_selector, workload_labels
from dpictl.resources.manifests import load_manifests, parse_manifests
from dpictl.resources.models import (DeepPacketInspection, FelixConfiguration,
                                     IntrusionDetection, validate_manifest)
from dpictl.resources.selector import Selector, parse_selector

__all__ = [
    "KINDS", "KindInfo", "resolve_kind", "dpi_selector", "workload_labels", "load_manifests",
    "parse_manifests", "DeepPacketInspection", "FelixConfiguration", "IntrusionDetection",
    "validate_manifest", "Selector", "parse_selector",
]
