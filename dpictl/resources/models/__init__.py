"""Typed views of the five kinds dpictl handles, and the one manifest validator.

Backends store and return plain manifest dicts (see `dpictl.backends.base`); these models
check a manifest before anything is created and give the agent typed fields to read.
"""

from __future__ import annotations

import copy
from collections.abc import Mapping
from typing import Any

from dpictl.errors import ManifestError
from dpictl.resources.kinds import KindInfo, kind_of_manifest
from dpictl.resources.models.core import Namespace, Pod, namespace_manifest, pod_manifest
from dpictl.resources.models.dpi import (DeepPacketInspection, DpiNodeStatus, ErrorCondition,
                                         record_node_status)
from dpictl.resources.models.felix import FelixConfiguration
from dpictl.resources.models.meta import (check_dns_label, check_dns_subdomain, check_labels,
                                          mapping, parse_label_list)
from dpictl.resources.models.operator import (DEFAULT_DPI_RESOURCES, IntrusionDetection,
                                              ResourceRequirements)

MODELS: dict[str, Any] = {
    "Namespace": Namespace, "Pod": Pod, "DeepPacketInspection": DeepPacketInspection,
    "IntrusionDetection": IntrusionDetection, "FelixConfiguration": FelixConfiguration,
}


def validate_manifest(manifest: Any, namespace: str | None = None) -> dict:
    """A checked, normalised copy of one manifest, ready to store or send.

    Namespaced kinds get `metadata.namespace` (from the manifest, else `namespace`, else
    "default"); a mismatch with an explicit `namespace` is an error, as in kubectl.
    `status` is dropped: it belongs to controllers, not to `apply`.
    """
    if not isinstance(manifest, Mapping):
        raise ManifestError(f"a manifest must be a mapping, not {type(manifest).__name__}")
    api_version, kind = manifest.get("apiVersion"), manifest.get("kind")
    if not api_version or not kind:
        raise ManifestError("manifest is missing apiVersion or kind")
    info = kind_of_manifest(str(api_version), str(kind))
    meta = mapping(manifest.get("metadata"), "metadata")
    if "name" not in meta:
        raise ManifestError(f"{kind}: metadata.name is required")
    _check_name(info, meta["name"])
    out_meta: dict[str, Any] = {"name": meta["name"]}
    if info.namespaced:
        out_meta["namespace"] = _namespace_of(meta, namespace)
    labels = check_labels(meta.get("labels"))
    if labels:
        out_meta["labels"] = labels
    annotations = mapping(meta.get("annotations"), "metadata.annotations")
    if annotations:
        out_meta["annotations"] = {str(k): str(v) for k, v in annotations.items()}
    out = {"apiVersion": info.api_version, "kind": info.kind, "metadata": out_meta}
    if "spec" in manifest:
        out["spec"] = copy.deepcopy(mapping(manifest.get("spec"), f"{kind} spec"))
    MODELS[info.kind].from_manifest(out)
    return out


def _check_name(info: KindInfo, name: Any) -> None:
    if info.kind == "Namespace":
        check_dns_label(name, "namespace name")
    else:
        check_dns_subdomain(name, f"{info.kind} name")


def _namespace_of(meta: dict, namespace: str | None) -> str:
    given = meta.get("namespace")
    if given and namespace and given != namespace:
        raise ManifestError(f"the namespace from the provided object {given!r} does not match "
                            f"the namespace {namespace!r}",
                            hint="drop -n or make them agree")
    ns = given or namespace or "default"
    return check_dns_label(ns, "namespace")


__all__ = [
    "validate_manifest", "MODELS", "Namespace", "Pod", "DeepPacketInspection",
    "DpiNodeStatus", "ErrorCondition", "record_node_status", "IntrusionDetection",
    "ResourceRequirements", "DEFAULT_DPI_RESOURCES", "FelixConfiguration",
    "namespace_manifest", "pod_manifest", "parse_label_list", "check_labels",
]
