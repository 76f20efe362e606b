"""Which interfaces to inspect: DeepPacketInspection resources x endpoints on this node.

Calico's DPI scopes each resource to its namespace by evaluating
`(<spec.selector>) && projectcalico.org/namespace == '<ns>'` against the workload
endpoint labels, and inspects only endpoints that live on its own node. The result is one
`MonitorKey` per (resource, endpoint interface): a pod selected by two resources is
inspected twice and alerts twice, as with Calico's one Snort per (resource, interface).
"""

from __future__ import annotations

from dataclasses import dataclass, field
from typing import Callable, Iterable, Protocol

from dpictl.backends.base import WorkloadEndpoint
from dpictl.errors import DpictlError


class LabelMatcher(Protocol):
    def matches(self, labels: dict[str, str]) -> bool: ...


# Builds the namespace-scoped matcher of a DPI manifest; raises on a bad selector.
SelectorFactory = Callable[[dict], LabelMatcher]


@dataclass(frozen=True, slots=True, order=True)
class MonitorKey:
    """One inspected (DeepPacketInspection resource, endpoint interface) pair."""

    namespace: str          # the resource's namespace
    name: str               # the resource's name
    interface: str          # host-side interface of the endpoint (cali...)

    @property
    def origin(self) -> str:
        """Calico's alert origin for this resource: `dpi.<ns>/<name>`."""
        return f"dpi.{self.namespace}/{self.name}"

    @property
    def resource(self) -> tuple[str, str]:
        return (self.namespace, self.name)


@dataclass(slots=True)
class Selection:
    """What the controller should be running, and why some resources run nothing."""

    monitors: dict[MonitorKey, WorkloadEndpoint] = field(default_factory=dict)
    selected: dict[tuple[str, str], int] = field(default_factory=dict)   # per resource
    errors: dict[tuple[str, str], str] = field(default_factory=dict)     # bad selectors


def resource_key(manifest: dict) -> tuple[str, str]:
    meta = manifest.get("metadata") or {}
    return (str(meta.get("namespace") or "default"), str(meta.get("name") or ""))


def default_selector_factory(manifest: dict) -> LabelMatcher:
    """The namespace-scoped selector of a DPI manifest, from dpictl.resources."""
    from dpictl.resources import dpi_selector

    return dpi_selector(manifest)


def select(resources: Iterable[dict], endpoints: Iterable[WorkloadEndpoint], node: str,
           selector_factory: SelectorFactory = default_selector_factory) -> Selection:
    """The monitors this node should run for these resources and endpoints."""
    local = [ep for ep in endpoints if ep.node == node and ep.interface]
    out = Selection()
    for manifest in resources:
        key = resource_key(manifest)
        try:
            matcher = selector_factory(manifest)
        except DpictlError as exc:
            out.errors[key] = f"invalid selector for resource {key[0]}/{key[1]}: {exc}"
            out.selected[key] = 0
            continue
        count = 0
        for ep in local:
            # The namespace test is also in the scoped selector; it is repeated here so a
            # source that forgets the implicit namespace label cannot widen a resource.
            if ep.namespace == key[0] and matcher.matches(ep.labels):
                out.monitors[MonitorKey(key[0], key[1], ep.interface)] = ep
                count += 1
        out.selected[key] = count
    return out


__all__ = ["MonitorKey", "Selection", "SelectorFactory", "LabelMatcher", "select",
           "resource_key", "default_selector_factory"]
