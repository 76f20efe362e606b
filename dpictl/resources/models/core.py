"""Namespace and Pod (v1): just enough of them for the lab's workloads.

`pod_manifest` builds what `kubectl run NAME --image=IMG --labels=...` would send, so both
backends create pods from the same dict.
"""

from __future__ import annotations

from dataclasses import dataclass, field

from dpictl.errors import ManifestError
from dpictl.resources.kinds import NAMESPACE, POD
from dpictl.resources.models.meta import check_labels, mapping


@dataclass(frozen=True, slots=True)
class Namespace:
    name: str
    labels: dict[str, str] = field(default_factory=dict)

    @classmethod
    def from_manifest(cls, manifest: dict) -> "Namespace":
        meta = mapping(manifest.get("metadata"), "metadata")
        return cls(str(meta.get("name")), check_labels(meta.get("labels")))


@dataclass(frozen=True, slots=True)
class Pod:
    name: str
    namespace: str
    image: str
    labels: dict[str, str] = field(default_factory=dict)
    root: bool = False     # asks explicitly to run as root (local pods run as nobody else)

    @classmethod
    def from_manifest(cls, manifest: dict) -> "Pod":
        meta = mapping(manifest.get("metadata"), "metadata")
        spec = mapping(manifest.get("spec"), "spec")
        containers = spec.get("containers")
        if not isinstance(containers, list) or not containers:
            raise ManifestError(f"Pod {meta.get('name')!r}: spec.containers must be a "
                                "non-empty list")
        for i, container in enumerate(containers):
            container = mapping(container, f"spec.containers[{i}]")
            if not container.get("name") or not container.get("image"):
                raise ManifestError(f"Pod {meta.get('name')!r}: spec.containers[{i}] needs a "
                                    "name and an image")
        return cls(str(meta.get("name")), str(meta.get("namespace") or "default"),
                   str(containers[0]["image"]), check_labels(meta.get("labels")),
                   root=_asks_for_root(spec, containers))


def _asks_for_root(spec: dict, containers: list) -> bool:
    """`securityContext.runAsUser: 0` on the pod or a container, or a privileged container:
    the ways a Kubernetes Pod says it needs root."""
    contexts = [spec.get("securityContext")] + [
        c.get("securityContext") for c in containers if isinstance(c, dict)]
    return any(isinstance(ctx, dict) and (ctx.get("runAsUser") == 0
                                          or ctx.get("privileged") is True)
               for ctx in contexts)


def namespace_manifest(name: str) -> dict:
    return {"apiVersion": NAMESPACE.api_version, "kind": NAMESPACE.kind,
            "metadata": {"name": name}}


def pod_manifest(namespace: str, name: str, image: str, labels: dict[str, str]) -> dict:
    """The Pod `kubectl run` creates (label `run=<name>` when no labels are given)."""
    return {
        "apiVersion": POD.api_version, "kind": POD.kind,
        "metadata": {"name": name, "namespace": namespace,
                     "labels": dict(labels) if labels else {"run": name}},
        "spec": {"containers": [{"name": name, "image": image}],
                 "restartPolicy": "Always", "dnsPolicy": "ClusterFirst"},
    }


__all__ = ["Namespace", "Pod", "namespace_manifest", "pod_manifest"]
