"""Where each canonical kind may be served, in order of preference, and the apiVersion shown.

The lab's YAML says `projectcalico.org/v3` and `operator.tigera.io/v1`. On a cluster without
Calico Enterprise those groups do not exist, so dpictl installs look-alike CRDs in its own
group (`dpictl.io/v1`) and translates: manifests in, the served group; objects out, the
lab's apiVersion again, so `get -o yaml | apply -f` round-trips on any cluster.
"""

from __future__ import annotations

from dpictl.backends.kubernetes.discovery import Discovery, ResourceRef
from dpictl.errors import NotFound, UsageError

DPICTL_GROUP = "dpictl.io"
DPICTL_VERSION = "v1"

# kind -> candidate (group, version), most preferred first.
CANDIDATES: dict[str, tuple[tuple[str, str], ...]] = {
    "Namespace": (("", "v1"),),
    "Pod": (("", "v1"),),
    "Event": (("", "v1"),),
    "ServiceAccount": (("", "v1"),),
    "ConfigMap": (("", "v1"),),
    "DaemonSet": (("apps", "v1"),),
    "ClusterRole": (("rbac.authorization.k8s.io", "v1"),),
    "ClusterRoleBinding": (("rbac.authorization.k8s.io", "v1"),),
    "Role": (("rbac.authorization.k8s.io", "v1"),),
    "RoleBinding": (("rbac.authorization.k8s.io", "v1"),),
    "CustomResourceDefinition": (("apiextensions.k8s.io", "v1"),),
    "DeepPacketInspection": (("projectcalico.org", "v3"), ("crd.projectcalico.org", "v1"),
                             (DPICTL_GROUP, DPICTL_VERSION)),
    "IntrusionDetection": (("operator.tigera.io", "v1"), (DPICTL_GROUP, DPICTL_VERSION)),
    "FelixConfiguration": (("projectcalico.org", "v3"), ("crd.projectcalico.org", "v1")),
}

# The apiVersion a user sees for kinds dpictl may serve from its own group.
DISPLAY_API_VERSION = {
    "DeepPacketInspection": "projectcalico.org/v3",
    "IntrusionDetection": "operator.tigera.io/v1",
}

_MISSING_HINT = {
    "DeepPacketInspection": "run `dpictl agent install`, which adds "
                            "deeppacketinspections.dpictl.io, or install Calico Enterprise",
    "IntrusionDetection": "run `dpictl agent install`, which adds "
                          "intrusiondetections.dpictl.io, or install the Tigera operator",
    "FelixConfiguration": "FelixConfiguration comes with Calico: install Calico, which "
                          "serves crd.projectcalico.org/v1",
}


def _equivalent(kind: str, api_version: str) -> bool:
    group, _, version = api_version.rpartition("/")
    return (group, version) in CANDIDATES.get(kind, ())


def resolve_kind(discovery: Discovery, kind: str) -> ResourceRef:
    """The served ref for a canonical kind; NotFound naming every group tried."""
    candidates = CANDIDATES.get(kind)
    if candidates is None:
        raise UsageError(f"the kubernetes backend does not handle kind {kind!r}",
                         hint="kinds: " + ", ".join(sorted(CANDIDATES)))
    for group, version in candidates:
        ref = discovery.find(group, version, kind)
        if ref is not None:
            return ref
    tried = ", ".join(f"{g}/{v}" if g else v for g, v in candidates)
    raise NotFound(f"the cluster does not serve {kind} (tried {tried})",
                   hint=_MISSING_HINT.get(kind, "install the CRD that provides it"))


def resolve_manifest(discovery: Discovery, manifest: dict) -> ResourceRef:
    """The served ref for a manifest: its own apiVersion when served, else, for the lab's
    Calico kinds, the served equivalent (projectcalico.org/v3 -> dpictl.io/v1)."""
    kind = str(manifest.get("kind") or "")
    api_version = str(manifest.get("apiVersion") or "")
    if not kind or not api_version:
        from dpictl.errors import ManifestError

        raise ManifestError("a manifest needs both apiVersion and kind")
    group, _, version = api_version.rpartition("/")
    ref = discovery.find(group, version, kind)
    if ref is not None:
        return ref
    if _equivalent(kind, api_version):
        return resolve_kind(discovery, kind)
    return discovery.require(api_version, kind)


def to_display(obj: dict) -> dict:
    """Show objects of dpictl's own group with the lab's apiVersion (and kind on list items)."""
    kind = obj.get("kind")
    if kind in DISPLAY_API_VERSION and str(obj.get("apiVersion", "")).startswith(DPICTL_GROUP):
        obj["apiVersion"] = DISPLAY_API_VERSION[kind]
    return obj


def calico_serves_dpi(discovery: Discovery) -> bool:
    """True when Calico (not dpictl) owns DeepPacketInspection on this cluster."""
    return any(discovery.find(g, v, "DeepPacketInspection") is not None
               for g, v in CANDIDATES["DeepPacketInspection"] if g != DPICTL_GROUP)


__all__ = ["CANDIDATES", "DPICTL_GROUP", "DPICTL_VERSION", "resolve_kind", "resolve_manifest",
           "to_display", "calico_serves_dpi"]
