"""DeepPacketInspection (projectcalico.org/v3, namespaced): a selector and per-node status.

Shapes and JSON names follow tigera/api `deeppacketinspection.go`; status keeps one entry
per node and at most the latest 10 error conditions, as Calico's status updater does.
"""

from __future__ import annotations

import copy
from dataclasses import dataclass, field
from typing import Any

from dpictl.errors import ManifestError, SelectorSyntaxError
from dpictl.resources.kinds import DEEP_PACKET_INSPECTION
from dpictl.resources.models.meta import mapping
from dpictl.resources.selector import Selector, parse_selector

MAX_ERROR_CONDITIONS = 10


@dataclass(frozen=True, slots=True)
class ErrorCondition:
    message: str
    last_updated: str | None = None

    def to_dict(self) -> dict:
        return {"message": self.message, "lastUpdated": self.last_updated}


@dataclass(frozen=True, slots=True)
class DpiNodeStatus:
    node: str
    success: bool = False
    last_updated: str | None = None
    error_conditions: tuple[ErrorCondition, ...] = ()

    def to_dict(self) -> dict:
        out: dict[str, Any] = {"node": self.node,
                               "active": {"success": self.success,
                                          "lastUpdated": self.last_updated}}
        if self.error_conditions:
            out["errorConditions"] = [e.to_dict() for e in self.error_conditions]
        return out

    @classmethod
    def from_dict(cls, data: dict) -> "DpiNodeStatus":
        active = mapping(data.get("active"), "status.nodes[].active")
        errors = tuple(ErrorCondition(str(e.get("message", "")), e.get("lastUpdated"))
                       for e in data.get("errorConditions") or [])
        return cls(str(data.get("node", "")), bool(active.get("success", False)),
                   active.get("lastUpdated"), errors[-MAX_ERROR_CONDITIONS:])


@dataclass(frozen=True, slots=True)
class DeepPacketInspection:
    name: str
    namespace: str
    selector_text: str
    nodes: tuple[DpiNodeStatus, ...] = ()
    metadata: dict = field(default_factory=dict, compare=False)

    @property
    def selector(self) -> Selector:
        """The resource's own selector (empty means all())."""
        return parse_selector(self.selector_text)

    @property
    def key(self) -> str:
        return f"{self.namespace}/{self.name}"

    @classmethod
    def from_manifest(cls, manifest: dict) -> "DeepPacketInspection":
        meta = mapping(manifest.get("metadata"), "metadata")
        spec = mapping(manifest.get("spec"), "spec")
        selector = spec.get("selector", "")
        if selector is None:
            selector = ""
        if not isinstance(selector, str):
            raise ManifestError(f"DeepPacketInspection {meta.get('name')!r}: spec.selector "
                                f"must be a string, not {selector!r}",
                                hint="quote it in YAML, e.g. selector: \"all()\"")
        try:
            parse_selector(selector)
        except SelectorSyntaxError as err:
            raise ManifestError(f"DeepPacketInspection {meta.get('name')!r}: spec.selector: "
                                f"{err.message}", hint=err.hint) from err
        status = mapping(manifest.get("status"), "status")
        nodes = tuple(DpiNodeStatus.from_dict(n) for n in status.get("nodes") or [])
        return cls(str(meta.get("name", "")), str(meta.get("namespace") or "default"),
                   selector, nodes, meta)

    def to_manifest(self) -> dict:
        out: dict[str, Any] = {"apiVersion": DEEP_PACKET_INSPECTION.api_version,
                               "kind": DEEP_PACKET_INSPECTION.kind,
                               "metadata": {**self.metadata, "name": self.name,
                                            "namespace": self.namespace},
                               "spec": {"selector": self.selector_text}}
        if self.nodes:
            out["status"] = {"nodes": [n.to_dict() for n in self.nodes]}
        return out


def record_node_status(status: dict | None, node: str, *, success: bool, now: str,
                       error: str | None = None) -> dict:
    """A new `status` dict with `node`'s entry updated (created if missing).

    An `error` is appended to that node's errorConditions, keeping the latest 10.
    """
    out = copy.deepcopy(status) if status else {}
    nodes = out.setdefault("nodes", [])
    entry = next((n for n in nodes if n.get("node") == node), None)
    if entry is None:
        entry = {"node": node}
        nodes.append(entry)
    entry["active"] = {"success": success, "lastUpdated": now}
    if error:
        errors = list(entry.get("errorConditions") or [])
        errors.append({"message": error, "lastUpdated": now})
        entry["errorConditions"] = errors[-MAX_ERROR_CONDITIONS:]
    return out


__all__ = ["DeepPacketInspection", "DpiNodeStatus", "ErrorCondition", "record_node_status",
           "MAX_ERROR_CONDITIONS"]
