"""Which API groups and resources the cluster serves, asked once per backend.

A DeepPacketInspection can live in three places (Calico's aggregated projectcalico.org/v3,
Calico's CRD group crd.projectcalico.org/v1, or dpictl's own dpictl.io/v1), so every kind is
resolved through discovery before the first request; the answers are cached for the life of
the backend and dropped only when dpictl itself installs a CRD.
"""

from __future__ import annotations

from dataclasses import dataclass

from dpictl.backends.kubernetes.api_errors import Action
from dpictl.backends.kubernetes.connection import Connection
from dpictl.errors import NotFound


@dataclass(frozen=True, slots=True)
class ResourceRef:
    """Where one kind is served: enough to build every REST path and RBAC message for it."""

    group: str
    version: str
    plural: str
    kind: str
    namespaced: bool

    @property
    def api_version(self) -> str:
        return f"{self.group}/{self.version}" if self.group else self.version

    def path(self, namespace: str | None = None, name: str | None = None,
             subresource: str | None = None) -> str:
        base = f"/apis/{self.group}/{self.version}" if self.group else f"/api/{self.version}"
        if self.namespaced and namespace:
            base += f"/namespaces/{namespace}"
        base += f"/{self.plural}"
        if name:
            base += f"/{name}"
        if subresource:
            base += f"/{subresource}"
        return base

    def action(self, verb: str, namespace: str | None = None, name: str | None = None,
               subresource: str | None = None) -> Action:
        resource = f"{self.plural}/{subresource}" if subresource else self.plural
        return Action(verb, resource, self.group, namespace if self.namespaced else None, name)


class Discovery:
    """Cached answers of /api, /apis and /apis/<group>/<version>."""

    def __init__(self, conn: Connection) -> None:
        self._conn = conn
        self._groups: dict[str, list[str]] | None = None
        self._resources: dict[str, dict[str, ResourceRef]] = {}

    def groups(self) -> dict[str, list[str]]:
        """Served groups and their versions, preferred version first ("" is core)."""
        if self._groups is None:
            groups: dict[str, list[str]] = {"": ["v1"]}
            answer = self._conn.request("GET", "/apis", action=Action("get", "apis"))
            for g in answer.get("groups", []):
                versions = [v["version"] for v in g.get("versions", [])]
                preferred = (g.get("preferredVersion") or {}).get("version")
                if preferred in versions:
                    versions.remove(preferred)
                    versions.insert(0, preferred)
                groups[g["name"]] = versions
            self._groups = groups
        return self._groups

    def serves(self, group: str, version: str) -> bool:
        return version in self.groups().get(group, [])

    def resources(self, group: str, version: str) -> dict[str, ResourceRef]:
        """Kind -> ResourceRef for one served group/version ({} when not served)."""
        key = f"{group}/{version}"
        if key not in self._resources:
            if not self.serves(group, version):
                self._resources[key] = {}
            else:
                path = f"/apis/{group}/{version}" if group else f"/api/{version}"
                answer = self._conn.request("GET", path, action=Action("get", path))
                self._resources[key] = {
                    r["kind"]: ResourceRef(group, version, r["name"], r["kind"],
                                           bool(r.get("namespaced")))
                    for r in answer.get("resources", []) if "/" not in r["name"]
                }
        return self._resources[key]

    def find(self, group: str, version: str, kind: str) -> ResourceRef | None:
        return self.resources(group, version).get(kind)

    def require(self, api_version: str, kind: str) -> ResourceRef:
        """The ref for an exact apiVersion+kind, or NotFound naming what is missing."""
        group, _, version = api_version.rpartition("/")
        ref = self.find(group, version, kind)
        if ref is None:
            raise NotFound(f"the cluster does not serve {kind} in {api_version}",
                           hint="install the CRD or API that provides it, or check apiVersion")
        return ref

    def invalidate(self) -> None:
        """Forget everything (after installing or removing a CRD)."""
        self._groups = None
        self._resources.clear()


__all__ = ["Discovery", "ResourceRef"]
