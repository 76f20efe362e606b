"""The kubernetes backend: the Backend protocol on a real cluster, through the official client.

Objects go in and out as the manifest dicts kubectl prints, so `get -o yaml|json|jsonpath`,
`apply -f` and the lab runner are shared with the local backend. Every kind is resolved through
discovery (once per backend), which is how the same lab YAML lands in Calico's API group where
Calico serves DeepPacketInspection and in dpictl's own CRD where it does not.
"""

from __future__ import annotations

from pathlib import Path
from typing import Iterable, Iterator

from dpictl.backends.base import ExecResult, Progress, WorkloadEndpoint
from dpictl.backends.kubernetes import kinds
from dpictl.backends.kubernetes.api_errors import Conflict
from dpictl.backends.kubernetes.connection import Connection
from dpictl.backends.kubernetes.discovery import Discovery, ResourceRef
from dpictl.backends.kubernetes.objects import Objects
from dpictl.backends.kubernetes.pod_exec import exec_in_pod
from dpictl.backends.kubernetes.pods import (MANAGED_BY, endpoint_from_pod, pod_manifest,
                                             wait_running)
from dpictl.errors import ClusterError, NotFound

DEFAULT_NAMESPACE = "default"


class KubernetesBackend:
    """A cluster reached through a kubeconfig (`--kubeconfig`, `--context`, `KUBECONFIG`)."""

    name = "kubernetes"

    def __init__(self, kubeconfig: Path | str | None = None, context: str | None = None,
                 db: Path | None = None, connection: Connection | None = None) -> None:
        self.conn = connection or Connection.from_kubeconfig(kubeconfig, context)
        self.discovery = Discovery(self.conn)
        self.objects = Objects(self.conn)
        self.db = db            # alerts of `run-lab` are stored locally too

    # -- kinds ----------------------------------------------------------------------------

    def ref(self, kind: str) -> ResourceRef:
        """Where `kind` is served on this cluster (NotFound with a hint when nowhere)."""
        return kinds.resolve_kind(self.discovery, kind)

    def dpi_api_version(self) -> str:
        """The apiVersion DeepPacketInspection is stored under here."""
        return self.ref("DeepPacketInspection").api_version

    def calico_serves_dpi(self) -> bool:
        """True when Calico's API serves DeepPacketInspection (so Calico inspects, not us)."""
        return kinds.calico_serves_dpi(self.discovery)

    def _ns(self, ref: ResourceRef, namespace: str | None) -> str | None:
        return (namespace or DEFAULT_NAMESPACE) if ref.namespaced else None

    # -- generic objects ------------------------------------------------------------------

    def apply(self, manifest: dict, dry_run: bool = False) -> tuple[dict, str]:
        ref = kinds.resolve_manifest(self.discovery, manifest)
        obj, verdict = self.objects.apply(ref, manifest, dry_run=dry_run)
        if ref.kind == "CustomResourceDefinition" and not dry_run:
            self.discovery.invalidate()
        return kinds.to_display(obj), verdict

    def patch(self, kind: str, name: str, patch: dict, namespace: str | None = None,
              patch_type: str = "merge") -> dict:
        ref = self.ref(kind)
        ns = self._ns(ref, namespace)
        try:
            return kinds.to_display(self.objects.patch(ref, name, patch, ns, patch_type))
        except NotFound:
            if kind != "FelixConfiguration" or patch_type != "merge":
                raise
        # Calico creates `default` on first start; a cluster without Felix running yet
        # gets it from the first patch, as the local backend does.
        manifest = {"apiVersion": ref.api_version, "kind": kind,
                    "metadata": {"name": name}, "spec": dict(patch.get("spec") or {})}
        return self.objects.create(ref, manifest)

    def get(self, kind: str, namespace: str | None = None, name: str | None = None,
            all_namespaces: bool = False) -> list[dict]:
        ref = self.ref(kind)
        ns = None if all_namespaces else self._ns(ref, namespace)
        if name:
            return [kinds.to_display(self.objects.get(ref, name, ns))]
        items = self.objects.list(ref, ns)
        return [kinds.to_display(o) for o in items]

    def delete(self, kind: str, names: Iterable[str], namespace: str | None = None) -> list[str]:
        ref = self.ref(kind)
        ns = self._ns(ref, namespace)
        deleted, missing = [], []
        for name in names:
            try:
                self.objects.delete(ref, name, ns)
                deleted.append(name)
            except NotFound:
                missing.append(name)
        if missing:
            where = f" in namespace {ns}" if ns else ""
            raise NotFound(f"{kind} {', '.join(missing)} not found{where}"
                           + (f" (deleted: {', '.join(deleted)})" if deleted else ""))
        return deleted

    def update_status(self, kind: str, obj: dict) -> dict:
        """PUT `obj`'s status (resourceVersion-checked: api_errors.Conflict on a race)."""
        return kinds.to_display(self.objects.update_status(self.ref(kind), obj))

    def watch(self, kind: str, namespace: str | None = None, resource_version: str = "",
              field_selector: str | None = None, timeout_seconds: int = 60) -> Iterator[dict]:
        ref = self.ref(kind)
        for event in self.objects.watch(ref, namespace, resource_version, field_selector,
                                        timeout_seconds):
            obj = event.get("object")
            if isinstance(obj, dict) and event.get("type") != "BOOKMARK":
                kinds.to_display(obj)
            yield event

    # -- namespaces and pods --------------------------------------------------------------

    def create_namespace(self, name: str) -> dict:
        ref = self.ref("Namespace")
        manifest = {"apiVersion": "v1", "kind": "Namespace",
                    "metadata": {"name": name, "labels": dict(MANAGED_BY)}}
        try:
            return self.objects.create(ref, manifest)
        except Conflict:
            raise ClusterError(f"namespace {name} already exists") from None

    def run_pod(self, namespace: str, name: str, image: str | None,
                labels: dict[str, str]) -> dict:
        ref = self.ref("Pod")
        try:
            return self.objects.create(ref, pod_manifest(namespace, name, image, labels))
        except Conflict:
            raise ClusterError(f"pod {namespace}/{name} already exists") from None

    def wait_pods_running(self, namespace: str, names: Iterable[str], timeout: float,
                          progress: Progress | None = None) -> None:
        ref = self.ref("Pod")
        wait_running(lambda: self.objects.list(ref, namespace), namespace, names, timeout,
                     progress)

    def endpoints(self, node: str | None = None) -> list[WorkloadEndpoint]:
        ref = self.ref("Pod")
        selector = f"spec.nodeName={node}" if node else None
        pods = self.objects.list(ref, None, field_selector=selector)
        return [ep for ep in map(endpoint_from_pod, pods) if ep is not None]

    def exec(self, namespace: str, pod: str, argv: list[str], stdin: bytes | None = None,
             timeout: float = 60.0) -> ExecResult:
        return exec_in_pod(self.conn.api_client, namespace, pod, argv, stdin, timeout)

    def down(self) -> list[str]:
        """Delete the namespaces dpictl created (which deletes their pods and DPI resources)."""
        ref = self.ref("Namespace")
        selector = ",".join(f"{k}={v}" for k, v in MANAGED_BY.items())
        lines = []
        for ns in self.objects.list(ref, label_selector=selector):
            name = ns["metadata"]["name"]
            if (ns.get("status") or {}).get("phase") == "Terminating":
                continue
            self.objects.delete(ref, name)
            lines.append(f"namespace/{name} deleted")
        return lines

    def close(self) -> None:
        self.conn.close()


__all__ = ["KubernetesBackend", "DEFAULT_NAMESPACE"]
