"""LocalBackend: the `Backend` protocol on a netns "cluster" of this machine.

Objects live in the state file as manifests (so `get -o yaml` shows what `apply` stored,
plus the bookkeeping an API server adds); pods are also real: a netns, a Calico-style veth
into the cluster's node netns, and an HTTP server. Kernel state is re-checked against the
stored state on first use, and broken pods are repaired, so separate commands (and the
agent daemon) see one cluster.
"""

from __future__ import annotations

import shutil
import socket
import time
from collections.abc import Iterable
from pathlib import Path

from dpictl import paths
from dpictl.backends.base import ExecResult, Progress, WorkloadEndpoint
from dpictl.backends.local import kernel, naming, processes
from dpictl.backends.local.objects import (apply_update, bump, json_patch, merge_patch,
                                           now_rfc3339, stamp_new)
from dpictl.backends.local.pods import PodRuntimeManager
from dpictl.backends.local.state import ClusterState, PodRuntime
from dpictl.errors import ClusterError, NotFound, UsageError
from dpictl.resources.kinds import BY_KIND, KINDS, KindInfo, resolve_kind
from dpictl.resources.labels import workload_labels
from dpictl.resources.models import namespace_manifest, pod_manifest, validate_manifest
from dpictl.resources.models.core import Pod

STALE_PENDING_SECONDS = 120.0


class LocalBackend:
    """A one-node cluster of network namespaces, named after a per-state-file cluster id."""

    name = "local"

    def __init__(self, db: Path | None = None, *, cluster_id: str | None = None) -> None:
        self.db_path = Path(db) if db else paths.default_db_path()
        self.state = ClusterState(self.db_path)
        self.cluster_id = self._resolve_cluster_id(cluster_id)
        self.node_name = socket.gethostname()
        self.node_netns = naming.node_netns_name(self.cluster_id)
        self.run_dir = paths.run_dir() / self.cluster_id
        # Pods never see the state: not the state directory, not the state file's directory.
        self.pods = PodRuntimeManager(self.state, self.node_netns, self.run_dir,
                                      masked=(paths.state_dir(), self.db_path.parent))
        self.repaired: list[str] = []
        self._checked = False

    def _resolve_cluster_id(self, explicit: str | None) -> str:
        stored = self.state.setting("cluster_id")
        wanted = naming.check_cluster_id(explicit) if explicit else naming.env_cluster_id()
        if stored and wanted and stored != wanted:
            raise UsageError(f"state file {self.db_path} belongs to cluster {stored!r}, "
                             f"not {wanted!r}", hint="use another --db, or drop the cluster id")
        cluster_id = stored or wanted or naming.derived_cluster_id(self.db_path)
        if not stored and not self.state.read_only:
            self.state.set_setting("cluster_id", cluster_id)
        return cluster_id

    def close(self) -> None:
        self.state.close()

    # -- objects ---------------------------------------------------------------------------
    def apply(self, manifest: dict) -> tuple[dict, str]:
        obj = validate_manifest(manifest)
        info = BY_KIND[obj["kind"]]
        ns, name = obj["metadata"].get("namespace", ""), obj["metadata"]["name"]
        if info.namespaced:
            self._require_namespace(ns)
        if info.kind == "Namespace":
            obj = _namespace_defaults(obj)
        if self.state.get_object(info.kind, ns, name) is None:
            if info.kind == "Pod":
                return self._create_pod(obj), "created"
            if info.kind == "Namespace":
                return self.create_namespace(name, obj["metadata"]), "created"
        # Read-modify-write in one transaction: the agent patches status concurrently.
        with self.state.transaction() as db:
            old = self.state.get_object(info.kind, ns, name)
            if old is None:
                stored = stamp_new(obj, self.state.next_resource_version(db))
                outcome = "created"
            else:
                if info.kind == "Pod":   # pods are immutable but for labels/annotations
                    annotations = {**old["metadata"].get("annotations", {}),
                                   **obj["metadata"].get("annotations", {})}
                    obj = {**obj, "spec": old.get("spec"),
                           "metadata": {**obj["metadata"], "annotations": annotations}}
                stored, outcome = apply_update(old, obj, "0")
                if outcome == "configured":
                    stored["metadata"]["resourceVersion"] = self.state.next_resource_version(db)
            if outcome != "unchanged":
                self.state.put_object(db, stored)
        return stored, outcome

    def patch(self, kind: str, name: str, patch: dict, namespace: str | None = None,
              patch_type: str = "merge") -> dict:
        info = resolve_kind(kind)
        ns = (namespace or "default") if info.namespaced else ""
        if patch_type not in ("merge", "strategic", "json"):
            raise UsageError(f"unknown patch type {patch_type!r}", hint="use merge or json")
        with self.state.transaction() as db:
            old = self.state.get_object(info.kind, ns, name)
            if old is None:
                if info.kind != "FelixConfiguration" or name != "default":
                    raise self._not_found(info, name)
                old = {"apiVersion": info.api_version, "kind": info.kind,
                       "metadata": {"name": name}, "spec": {}}
            merged = json_patch(old, patch) if patch_type == "json" else merge_patch(old, patch)
            result = _checked_patch_result(merged, name)
            rv = self.state.next_resource_version(db)
            result = bump(old, result, rv) if "uid" in old["metadata"] else stamp_new(result, rv)
            self.state.put_object(db, result)
        return result

    def create_namespace(self, name: str, _meta: dict | None = None) -> dict:
        obj = validate_manifest({**namespace_manifest(name),
                                 "metadata": {**(_meta or {}), "name": name}})
        with self.state.transaction() as db:
            if db.execute("SELECT 1 FROM cluster_objects WHERE kind='Namespace' AND name=?",
                          (name,)).fetchone():
                raise ClusterError(f'namespaces "{name}" already exists')
            stored = stamp_new(_namespace_defaults(obj), self.state.next_resource_version(db))
            stored["status"] = {"phase": "Active"}
            self.state.put_object(db, stored)
        return stored

    def run_pod(self, namespace: str, name: str, image: str, labels: dict[str, str]) -> dict:
        obj = validate_manifest(pod_manifest(namespace, name, image, labels))
        self._require_namespace(namespace)
        return self._create_pod(obj)

    def get(self, kind: str, namespace: str | None = None, name: str | None = None,
            all_namespaces: bool = False) -> list[dict]:
        info = resolve_kind(kind)
        if info.kind == "Pod":
            self._check_pods()
        if not info.namespaced:
            ns: str | None = ""
        else:
            ns = None if all_namespaces and not name else (namespace or "default")
        if name is not None:
            obj = self.state.get_object(info.kind, ns or "", name)
            if obj is None:
                raise self._not_found(info, name)
            return [obj]
        return self.state.list_objects(info.kind, ns)

    def delete(self, kind: str, names: Iterable[str], namespace: str | None = None) -> list[str]:
        info = resolve_kind(kind)
        ns = (namespace or "default") if info.namespaced else ""
        deleted, missing = [], []
        for name in names:
            if self.state.get_object(info.kind, ns, name) is None:
                missing.append(name)
                continue
            if info.kind == "Namespace":
                self._delete_namespace_contents(name)
            elif info.kind == "Pod":
                self._destroy_pod(ns, name)
            with self.state.transaction() as db:
                self.state.delete_object(db, info.kind, ns, name)
            deleted.append(name)
        if missing:
            raise self._not_found(info, missing[0], more=len(missing) - 1)
        return deleted

    def _delete_namespace_contents(self, namespace: str) -> None:
        for obj in self.state.list_objects("Pod", namespace):
            self._destroy_pod(namespace, obj["metadata"]["name"])
        with self.state.transaction() as db:
            for info in KINDS:
                if info.namespaced:
                    db.execute("DELETE FROM cluster_objects WHERE kind=? AND namespace=?",
                               (info.kind, namespace))

    # -- pods ------------------------------------------------------------------------------
    def _create_pod(self, obj: dict) -> dict:
        kernel.require_root()
        ns, name = obj["metadata"]["namespace"], obj["metadata"]["name"]
        self._clear_orphan_runtime(ns, name)
        if self.state.get_object("Pod", ns, name) or self.state.pod(ns, name):
            raise ClusterError(f'pods "{name}" already exists')
        pod = self.state.reserve_pod(ns, name, naming.pod_netns_name(self.cluster_id, ns, name),
                                     naming.host_interface_name(ns, name))
        try:
            pod = self.pods.start(pod, Pod.from_manifest(obj).root)
        except BaseException:
            with self.state.transaction() as db:
                self.state.delete_pod(db, ns, name)
            raise
        # Runtime row and manifest change together: no reader sees one without the other.
        with self.state.transaction() as db:
            self.state.set_pod_running(db, pod)
            stored = stamp_new(obj, self.state.next_resource_version(db))
            self._set_pod_status(stored, pod)
            self.state.put_object(db, stored)
        return stored

    def _clear_orphan_runtime(self, namespace: str, name: str) -> None:
        """A runtime row with no manifest is what a crash mid-creation leaves behind."""
        pod = self.state.pod(namespace, name)
        if pod is None or self.state.get_object("Pod", namespace, name) is not None:
            return
        if pod.phase == "Pending" and time.time() - pod.created < STALE_PENDING_SECONDS:
            return                                  # another command is creating it now
        self._destroy_pod(namespace, name)

    def _set_pod_status(self, obj: dict, pod: PodRuntime) -> None:
        started = now_rfc3339()
        obj["spec"]["nodeName"] = self.node_name
        obj["metadata"]["annotations"] = {**obj["metadata"].get("annotations", {}),
                                          "cni.projectcalico.org/podIP": f"{pod.ip}/32",
                                          "cni.projectcalico.org/podIPs": f"{pod.ip}/32"}
        containers = obj["spec"]["containers"]
        obj["status"] = {
            "phase": "Running", "podIP": pod.ip, "podIPs": [{"ip": pod.ip}],
            "startTime": started, "qosClass": "BestEffort",
            "conditions": [{"type": t, "status": "True", "lastTransitionTime": started}
                           for t in ("Initialized", "Ready", "ContainersReady", "PodScheduled")],
            "containerStatuses": [{"name": c["name"], "image": c["image"], "ready": True,
                                   "restartCount": 0, "started": True,
                                   "state": {"running": {"startedAt": started}}}
                                  for c in containers],
        }

    def _destroy_pod(self, namespace: str, name: str) -> list[str]:
        pod = self.state.pod(namespace, name)
        if pod:
            kernel.require_root()
            # Marked first, so that no other process "repairs" what is being torn down.
            self.state.set_pod_phase(namespace, name, "Terminating")
        removed = self.pods.destroy(pod) if pod else []
        with self.state.transaction() as db:
            self.state.delete_pod(db, namespace, name)
        return removed

    def _check_pods(self) -> None:
        """Once per backend: repair pods whose netns, veth or server vanished."""
        if self._checked or not _is_root() or self.state.read_only:
            return                      # a read-only state file is shown as it is
        self._checked = True
        for pod in self.state.pods():
            if pod.phase != "Running":
                continue                # Pending: being created; Terminating: being deleted
            problems = self.pods.problems(pod)
            current = self.state.pod(pod.namespace, pod.name)
            if problems and current is not None and current.phase == pod.phase:
                self.pods.repair(pod, self._runs_as_root(pod))
                self.repaired.append(f"{pod.namespace}/{pod.name}: " + "; ".join(problems))

    def _running_pod(self, namespace: str, name: str) -> PodRuntime:
        self._check_pods()
        pod = self.state.pod(namespace, name)
        if pod is None or self.state.get_object("Pod", namespace, name) is None:
            raise NotFound(f'pods "{name}" not found in namespace "{namespace}"',
                           hint=f"list them with: dpictl get pods -n {namespace}")
        if pod.phase != "Running":
            raise ClusterError(f"pod {namespace}/{name} is {pod.phase}, not Running")
        return pod

    def exec(self, namespace: str, pod: str, argv: list[str], stdin: bytes | None = None,
             timeout: float = 60.0) -> ExecResult:
        kernel.require_root()
        if not argv:
            raise UsageError("exec needs a command", hint="dpictl exec -n NS POD -- CMD ...")
        runtime = self._running_pod(namespace, pod)
        if not processes.is_pod_server(runtime.pid):
            raise ClusterError(f"pod {namespace}/{pod} has no running server to exec into",
                               hint="dpictl get pods repairs it (as root)")
        process = self.pods.process(runtime, self._runs_as_root(runtime))
        return processes.exec_in_pod(runtime.pid, process, list(argv), stdin, timeout)

    def _runs_as_root(self, pod: PodRuntime) -> bool:
        manifest = self.state.get_object("Pod", pod.namespace, pod.name)
        return manifest is not None and Pod.from_manifest(manifest).root

    def wait_pods_running(self, namespace: str, names: Iterable[str], timeout: float,
                          progress: Progress | None = None) -> None:
        wanted = list(names)
        deadline = time.monotonic() + timeout
        for done, name in enumerate(wanted, 1):
            while True:
                try:
                    self._running_pod(namespace, name)
                    break
                except (NotFound, ClusterError):
                    if time.monotonic() >= deadline:
                        raise
                    time.sleep(0.1)
            if progress:
                progress(done, len(wanted), f"pod {namespace}/{name} Running")

    def endpoints(self, node: str | None = None) -> list[WorkloadEndpoint]:
        if node is not None and node != self.node_name:
            return []
        self._check_pods()
        out = []
        for pod in self.state.pods():
            obj = self.state.get_object("Pod", pod.namespace, pod.name)
            if pod.phase != "Running" or obj is None:
                continue
            labels = obj["metadata"].get("labels") or {}
            out.append(WorkloadEndpoint(pod.namespace, pod.name, pod.ip, self.node_name,
                                        pod.interface, workload_labels(pod.namespace, labels)))
        return out

    # -- teardown --------------------------------------------------------------------------
    def down(self) -> list[str]:
        kernel.require_root()
        lines = []
        for pod in self.state.pods():
            lines += [f"removed {item}" for item in self.pods.destroy(pod)]
        prefix = naming.cluster_prefix(self.cluster_id)
        for name in kernel.list_netns():
            if not name.startswith(prefix):
                continue
            if name != self.node_netns:
                for pid in kernel.pids_in_netns(name):
                    if processes.stop_pid(pid):
                        lines.append(f"stopped process {pid} (netns {name})")
            if kernel.remove_netns(name):
                lines.append(f"removed netns {name}")
        for pid in processes.pod_servers_labelled(prefix):
            if processes.stop_pid(pid):
                lines.append(f"stopped orphaned pod server {pid}")
        if self.run_dir.exists():
            shutil.rmtree(self.run_dir, ignore_errors=True)
            lines.append(f"removed {self.run_dir}")
        counts = self.state.clear()
        if counts:
            summary = ", ".join(f"{n} {BY_KIND[k].plural if n != 1 else BY_KIND[k].singular}"
                                for k, n in sorted(counts.items()) if k in BY_KIND)
            lines.append(f"forgot {summary} (state {self.db_path})")
        return lines

    # -- helpers ---------------------------------------------------------------------------
    def _require_namespace(self, namespace: str) -> None:
        if self.state.get_object("Namespace", "", namespace) is None:
            raise NotFound(f'namespaces "{namespace}" not found',
                           hint=f"create it first: dpictl create ns {namespace}")

    @staticmethod
    def _not_found(info: KindInfo, name: str, more: int = 0) -> NotFound:
        resource = f"{info.plural}.{info.group}" if info.group else info.plural
        extra = f" (and {more} more)" if more else ""
        return NotFound(f'{resource} "{name}" not found{extra}')


def _checked_patch_result(merged: dict, name: str) -> dict:
    """The patched object, validated like a manifest, keeping bookkeeping and status."""
    user_meta = {k: v for k, v in (merged.get("metadata") or {}).items()
                 if k in ("name", "namespace", "labels", "annotations")}
    checked = validate_manifest({**merged, "metadata": user_meta})
    if checked["metadata"]["name"] != name:
        raise UsageError("a patch cannot change metadata.name")
    result = {**merged, **checked, "metadata": {**merged["metadata"], **checked["metadata"]}}
    for key in ("labels", "annotations"):
        if key not in checked["metadata"]:
            result["metadata"].pop(key, None)
    if "status" in merged:
        result["status"] = merged["status"]
    return result


def _namespace_defaults(obj: dict) -> dict:
    """What the API server adds to every namespace (so re-applying one is "unchanged")."""
    name = obj["metadata"]["name"]
    labels = {**obj["metadata"].get("labels", {}), "kubernetes.io/metadata.name": name}
    return {**obj, "metadata": {**obj["metadata"], "labels": labels},
            "spec": obj.get("spec") or {"finalizers": ["kubernetes"]}}


def _is_root() -> bool:
    import os

    return os.geteuid() == 0


__all__ = ["LocalBackend"]
