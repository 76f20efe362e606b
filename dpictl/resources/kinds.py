"""The kinds dpictl knows and every name kubectl users type for them.

`resolve_kind("dpi")` -> the DeepPacketInspection `KindInfo`. Backends and the CLI speak
canonical kind names only; this is the one place that maps user spellings to them.
"""

from __future__ import annotations

from dataclasses import dataclass

from dpictl.errors import UsageError


@dataclass(frozen=True, slots=True)
class KindInfo:
    kind: str                   # canonical, e.g. "DeepPacketInspection"
    api_version: str            # "projectcalico.org/v3"
    plural: str                 # "deeppacketinspections"
    namespaced: bool
    short_names: tuple[str, ...] = ()

    @property
    def group(self) -> str:
        return self.api_version.rpartition("/")[0] if "/" in self.api_version else ""

    @property
    def singular(self) -> str:
        return self.kind.lower()

    @property
    def qualified(self) -> str:
        """kubectl's `<singular>.<group>` as printed in `... created` lines."""
        return f"{self.singular}.{self.group}" if self.group else self.singular


NAMESPACE = KindInfo("Namespace", "v1", "namespaces", False, ("ns",))
POD = KindInfo("Pod", "v1", "pods", True, ("po",))
DEEP_PACKET_INSPECTION = KindInfo(
    "DeepPacketInspection", "projectcalico.org/v3", "deeppacketinspections", True, ("dpi",))
INTRUSION_DETECTION = KindInfo(
    "IntrusionDetection", "operator.tigera.io/v1", "intrusiondetections", False, ())
FELIX_CONFIGURATION = KindInfo(
    "FelixConfiguration", "projectcalico.org/v3", "felixconfigurations", False, ())

KINDS: tuple[KindInfo, ...] = (
    NAMESPACE, POD, DEEP_PACKET_INSPECTION, INTRUSION_DETECTION, FELIX_CONFIGURATION)
BY_KIND: dict[str, KindInfo] = {k.kind: k for k in KINDS}


def _aliases(info: KindInfo) -> set[str]:
    names = {info.singular, info.plural, *info.short_names}
    if info.group:
        # kubectl accepts `<resource>.<group>` and any prefix of the group at a dot,
        # e.g. deeppacketinspection.projectcalico.org and deeppacketinspection.p
        parts = info.group.split(".")
        for base in (info.singular, info.plural):
            for i in range(1, len(parts) + 1):
                names.add(f"{base}.{'.'.join(parts[:i])}")
            names.add(f"{base}.{info.group[0]}")
    return names


_ALIASES: dict[str, KindInfo] = {alias: info for info in KINDS for alias in _aliases(info)}


def resolve_kind(name: str) -> KindInfo:
    """The kind a user means by `name` (case-insensitive); UsageError when unknown."""
    key = name.strip().lower()
    if key in _ALIASES:
        return _ALIASES[key]
    if name in BY_KIND:
        return BY_KIND[name]
    known = ", ".join(sorted({k.plural for k in KINDS} | {"dpi", "ns", "po"}))
    raise UsageError(f"the server doesn't have a resource type {name!r}", hint=f"known: {known}")


def kind_of_manifest(api_version: str, kind: str) -> KindInfo:
    """The KindInfo for a manifest's apiVersion/kind pair; ManifestError when unknown."""
    from dpictl.errors import ManifestError

    info = BY_KIND.get(kind)
    if info is None:
        known = ", ".join(k.kind for k in KINDS)
        raise ManifestError(f"unsupported kind {kind!r}", hint=f"dpictl handles: {known}")
    if api_version != info.api_version:
        raise ManifestError(f"{kind} must have apiVersion {info.api_version!r}, "
                            f"not {api_version!r}")
    return info


__all__ = ["KindInfo", "KINDS", "BY_KIND", "resolve_kind", "kind_of_manifest", "NAMESPACE",
           "POD", "DEEP_PACKET_INSPECTION", "INTRUSION_DETECTION", "FELIX_CONFIGURATION"]
