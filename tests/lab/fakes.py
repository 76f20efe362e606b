"""An in-memory lab environment: a Backend that keeps objects in dicts, and an "agent" that
turns each exec'd request into the alerts Calico's DPI would raise (one per inspected
endpoint the request crosses, selected with the real selection code)."""

from __future__ import annotations

import time

from dpictl.agent.selection import select
from dpictl.alerts.record import Alert, Endpoint
from dpictl.backends.base import ExecResult, WorkloadEndpoint
from dpictl.errors import ClusterError, NotFound
from dpictl.lab.builders import Lab
from dpictl.lab.environment import LabEnvironment
from dpictl.resources import workload_labels
from dpictl.resources.models.dpi import record_node_status

NODE = "dagl-node"


class FakeBackend:
    name = "fake"

    def __init__(self, sid: int = 1000001) -> None:
        self.objects: dict[tuple[str, str, str], dict] = {}
        self.pods: dict[tuple[str, str], WorkloadEndpoint] = {}
        self.alerts: list[Alert] = []
        self.sid = sid
        self.execs: list[tuple[str, str, list[str]]] = []
        self.exec_hook = None
        self.downed = False

    def _key(self, kind, ns, name):
        return (kind, ns or "", name)

    def apply(self, manifest):
        meta = manifest["metadata"]
        key = self._key(manifest["kind"], meta.get("namespace"), meta["name"])
        outcome = "configured" if key in self.objects else "created"
        self.objects[key] = dict(manifest)
        if manifest["kind"] == "DeepPacketInspection":
            self.objects[key]["status"] = record_node_status(None, NODE, success=True,
                                                             now="2026-01-01T00:00:00Z")
        return self.objects[key], outcome

    def patch(self, kind, name, patch, namespace=None, patch_type="merge"):
        key = self._key(kind, namespace, name)
        obj = self.objects.setdefault(key, {"kind": kind, "metadata": {"name": name},
                                            "spec": {}})
        for k, v in patch.get("spec", {}).items():
            if v is None:
                obj["spec"].pop(k, None)
            else:
                obj["spec"][k] = v
        return obj

    def create_namespace(self, name):
        if ("Namespace", "", name) in self.objects:
            raise ClusterError(f'namespaces "{name}" already exists')
        return self.apply({"kind": "Namespace", "metadata": {"name": name}})[0]

    def run_pod(self, namespace, name, image, labels):
        ip = f"10.244.0.{len(self.pods) + 2}"
        self.pods[(namespace, name)] = WorkloadEndpoint(
            namespace, name, ip, NODE, f"cali{namespace}{name}",
            workload_labels(namespace, labels))
        return self.apply({"kind": "Pod", "metadata": {"name": name, "namespace": namespace}})[0]

    def get(self, kind, namespace=None, name=None, all_namespaces=False):
        found = [o for (k, ns, n), o in self.objects.items() if k == kind
                 and (all_namespaces or kind == "Namespace" or ns == (namespace or "default"))
                 and (name is None or n == name)]
        if name is not None and not found:
            raise NotFound(f"{kind} {name} not found")
        return found

    def delete(self, kind, names, namespace=None):
        deleted = []
        for name in names:
            if kind == "Namespace":
                for key in [k for k in self.objects if k[1] == name]:
                    del self.objects[key]
                for key in [k for k in self.pods if k[0] == name]:
                    del self.pods[key]
            key = self._key(kind, namespace if kind != "Namespace" else "", name)
            if key in self.objects:
                del self.objects[key]
                deleted.append(name)
        return deleted

    def exec(self, namespace, pod, argv, stdin=None, timeout=60.0):
        self.execs.append((namespace, pod, argv))
        if self.exec_hook:
            self.exec_hook(namespace, pod, argv)
        src = self.pods[(namespace, pod)]
        dst = next(ep for ep in self.pods.values() if ep.ip in " ".join(argv))
        dpis = self.get("DeepPacketInspection", all_namespaces=True)
        wanted = select(dpis, list(self.pods.values()), NODE)
        for key, ep in wanted.monitors.items():
            if ep in (src, dst):
                self.alerts.append(Alert(
                    time=time.time(), source_ip=src.ip, source_port=40000, dest_ip=dst.ip,
                    dest_port=80, proto="TCP", gid=1, sid=self.sid, rev=1, signature="smk",
                    origin=key.origin, host=NODE, source_name=src.name,
                    source_namespace=src.namespace, dest_name=dst.name,
                    dest_namespace=dst.namespace,
                    endpoint=Endpoint(ep.name, ep.namespace, ep.interface,
                                      "source" if ep == src else "destination")))
        return ExecResult(b"ok", b"", 0)

    def wait_pods_running(self, namespace, names, timeout, progress=None):
        for n in names:
            if (namespace, n) not in self.pods:
                raise NotFound(n)

    def endpoints(self, node=None):
        return list(self.pods.values())

    def down(self):
        self.downed = True
        self.objects.clear()
        self.pods.clear()
        return ["down"]


class FakeAlerts:
    def __init__(self, backend: FakeBackend) -> None:
        self.backend = backend

    def alerts(self, since):
        return [a for a in self.backend.alerts if a.time >= since]


class FakeInspection:
    def __init__(self) -> None:
        self.calls: list = []

    def start(self, rules):
        self.calls.append(("start", list(rules)))

    def changed(self):
        self.calls.append("changed")

    def wait_ready(self, timeout):
        self.calls.append("ready")

    def status(self):
        return {"running": True, "pid": 1}

    def flush_flows(self):
        self.calls.append("flush_flows")
        return True

    def finish(self, backend, cluster_was_empty):
        self.calls.append(("finish", cluster_was_empty))
        return backend.down() if cluster_was_empty else []


def fake_env(sid: int = 1000001) -> LabEnvironment:
    backend = FakeBackend(sid)
    return Lab(backend=backend, alerts=FakeAlerts(backend),
                          inspection=FakeInspection())
