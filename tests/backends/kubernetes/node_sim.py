"""A one-node "kubelet + namespace controller" for the test API server, made of netns pods.

The test API server stores pods but nothing runs them. `SimulatedNode` watches the API and,
for each new pod in the namespaces it owns, starts a twin in a LocalBackend netns cluster
(same namespace and name, hence the same cali* veth name), binds the API pod to its node and
reports it Running with the twin's IP, as a kubelet would. Deleted pods are removed from both,
and Terminating namespaces are emptied and finalized, as the controller-manager would, so the
same namespace names can be used again. `exec` goes to the twin (there is no kubelet to reach).
"""

from __future__ import annotations

import logging
import threading

from dpictl.backends.base import ExecResult
from dpictl.backends.kubernetes import KubernetesBackend
from dpictl.errors import DpictlError, NotFound

from .conftest import patch_pod_running

log = logging.getLogger(__name__)


class SimulatedNode:
    def __init__(self, api: KubernetesBackend, local, node: str, namespaces: set[str]) -> None:
        self.api = api
        self.local = local
        self.node = node
        self.namespaces = set(namespaces)
        self.errors: list[str] = []
        self._stop = threading.Event()
        self._lock = threading.Lock()
        self._thread = threading.Thread(target=self._run, daemon=True)

    def start(self) -> "SimulatedNode":
        self._thread.start()
        return self

    def stop(self) -> None:
        self._stop.set()
        self._thread.join(10)

    def _run(self) -> None:
        while not self._stop.wait(0.2):
            try:
                self.sync()
            except DpictlError as exc:
                self.errors.append(str(exc))

    def sync(self) -> None:
        with self._lock:
            for ns in list(self.namespaces):
                self._sync_namespace(ns)

    def _sync_namespace(self, ns: str) -> None:
        try:
            nsobj = self.api.get("Namespace", name=ns)[0]
        except NotFound:
            return
        pods = self.api.get("Pod", namespace=ns)
        if nsobj.get("status", {}).get("phase") == "Terminating":
            self._finalize(ns, pods)
            return
        for pod in pods:
            meta = pod["metadata"]
            if meta.get("deletionTimestamp"):
                self._remove(ns, meta["name"])
            elif not pod["spec"].get("nodeName"):
                self._start(pod)

    def _start(self, pod: dict) -> None:
        ns, name = pod["metadata"]["namespace"], pod["metadata"]["name"]
        if not any(n["metadata"]["name"] == ns for n in self.local.get("Namespace")):
            self.local.create_namespace(ns)
        self.local.run_pod(ns, name, pod["spec"]["containers"][0]["image"],
                           pod["metadata"].get("labels") or {})
        self.local.wait_pods_running(ns, [name], timeout=30)
        ip = next(e.ip for e in self.local.endpoints() if (e.namespace, e.name) == (ns, name))
        patch_pod_running(self.api, ns, name, ip, node=self.node)

    def _remove(self, ns: str, name: str) -> None:
        try:
            self.local.delete("Pod", [name], namespace=ns)
        except NotFound:
            pass
        ref = self.api.ref("Pod")
        try:
            self.api.conn.request("DELETE", ref.path(ns, name),
                                  body={"kind": "DeleteOptions", "apiVersion": "v1",
                                        "gracePeriodSeconds": 0})
        except NotFound:
            pass

    def _finalize(self, ns: str, pods: list[dict]) -> None:
        for pod in pods:
            self._remove(ns, pod["metadata"]["name"])
        for kind in ("DeepPacketInspection", "Event"):
            try:
                for obj in self.api.get(kind, namespace=ns):
                    self.api.delete(kind, [obj["metadata"]["name"]], namespace=ns)
            except NotFound:
                pass
        if any(n["metadata"]["name"] == ns for n in self.local.get("Namespace")):
            self.local.delete("Namespace", [ns])
        body = {"apiVersion": "v1", "kind": "Namespace", "metadata": {"name": ns},
                "spec": {"finalizers": []}}
        self.api.conn.request("PUT", f"/api/v1/namespaces/{ns}/finalize", body=body)


class NodeBackedBackend(KubernetesBackend):
    """The kubernetes backend, with `exec` answered by the simulated node's netns pods."""

    def __init__(self, *args, local=None, **kw) -> None:
        super().__init__(*args, **kw)
        self.local = local

    def exec(self, namespace: str, pod: str, argv: list[str], stdin: bytes | None = None,
             timeout: float = 60.0) -> ExecResult:
        self.get("Pod", namespace, pod)           # the API must know the pod
        return self.local.exec(namespace, pod, argv, stdin, timeout)
