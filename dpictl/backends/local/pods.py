"""A local pod's life on the kernel side: network, HTTP server, health check and repair.

Nothing here touches manifests; `LocalBackend` pairs these runtime steps with the stored
objects. Every step is idempotent so that a crash half-way can be repaired or torn down.
"""

from __future__ import annotations

import logging
import time
from dataclasses import replace
from pathlib import Path

from dpictl.backends.local import kernel, processes
from dpictl.backends.local.state import ClusterState, PodRuntime

log = logging.getLogger(__name__)

SERVER_START_TIMEOUT = 10.0


class PodRuntimeManager:
    """Creates, checks, repairs and destroys pods of one cluster (one node netns)."""

    def __init__(self, state: ClusterState, node_netns: str, run_dir: Path,
                 masked: tuple[Path, ...] = ()) -> None:
        self.state = state
        self.node_netns = node_netns
        self.run_dir = run_dir
        self.masked = masked          # hidden from every pod: the state directories

    def process(self, pod: PodRuntime, root: bool) -> processes.PodProcess:
        """Who the pod's processes are (see `isolation`)."""
        return processes.PodProcess(hostname=pod.name, root=root, masked=self.masked)

    def log_path(self, pod: PodRuntime) -> Path:
        return self.run_dir / f"{pod.netns}.log"

    def pid_path(self, pod: PodRuntime) -> Path:
        return self.run_dir / f"{pod.netns}.pid"

    def start(self, pod: PodRuntime, root: bool = False) -> PodRuntime:
        """Plumb the pod's network and start its server; the caller records it as Running."""
        fresh_node = not kernel.netns_exists(self.node_netns)
        kernel.ensure_node_netns(self.node_netns)
        if fresh_node:
            _count_connections(self.node_netns)
        kernel.create_pod_netns(pod.netns)
        server = None
        try:
            # The server starts (Python boots) while the veth is being set up.
            server = processes.start_pod_server(pod.netns, self.log_path(pod),
                                                self.process(pod, root))
            mac = kernel.plumb_pod(self.node_netns, pod.netns, pod.interface, pod.ip)
            pid = self._wait_server(pod, server)
        except BaseException:
            if server is not None:
                processes.stop_pid(server.pid)
            kernel.unplumb_pod(self.node_netns, pod.netns, pod.interface)
            raise
        return replace(pod, mac=mac, pid=pid, phase="Running")

    def _start_server(self, pod: PodRuntime, root: bool) -> int:
        return self._wait_server(pod, processes.start_pod_server(
            pod.netns, self.log_path(pod), self.process(pod, root)))

    def _wait_server(self, pod: PodRuntime, server: processes.StartedServer) -> int:
        pid = processes.wait_ready(server, time.monotonic() + SERVER_START_TIMEOUT)
        self.pid_path(pod).write_text(f"{pid}\n")
        return pid

    def problems(self, pod: PodRuntime) -> list[str]:
        """What is wrong with a pod's runtime (empty when healthy)."""
        found = []
        if not kernel.netns_exists(pod.netns):
            found.append(f"netns {pod.netns} is gone")
        elif not kernel.link_exists(self.node_netns, pod.interface):
            found.append(f"interface {pod.interface} is gone")
        if not processes.is_pod_server(pod.pid):
            found.append(f"HTTP server (pid {pod.pid}) is not running")
        return found

    def repair(self, pod: PodRuntime, root: bool = False) -> PodRuntime:
        """Bring a broken pod back with the same IP and interface name."""
        network_ok = (kernel.netns_exists(self.node_netns) and kernel.netns_exists(pod.netns)
                      and kernel.link_exists(self.node_netns, pod.interface))
        if not network_ok:
            if pod.pid and processes.is_pod_server(pod.pid):
                processes.stop_pid(pod.pid)
            pod = self.start(pod, root)
        else:
            pod = replace(pod, pid=self._start_server(pod, root), phase="Running")
        with self.state.transaction() as db:
            self.state.set_pod_running(db, pod)
        return pod

    def destroy(self, pod: PodRuntime) -> list[str]:
        """Stop the server and every other process in the pod netns, remove the network."""
        removed = []
        pids = set(kernel.pids_in_netns(pod.netns))
        if pod.pid and processes.is_pod_server(pod.pid):
            pids.add(pod.pid)
        for pid in sorted(pids):
            if processes.stop_pid(pid):
                removed.append(f"process {pid} in {pod.namespace}/{pod.name}")
        removed += kernel.unplumb_pod(self.node_netns, pod.netns, pod.interface)
        for path in (self.pid_path(pod), self.log_path(pod)):
            path.unlink(missing_ok=True)
        return removed


def _count_connections(node_netns: str) -> None:
    """Flow counters in the node netns from its first pod on (conntrack-fed nftables sets,
    dpictl.flowlogs.kernel_counters): the flow logs read them. The agent's collector installs
    them as well, but traffic before then would go uncounted. Best effort: a node without
    nftables still forwards, it only has no flow logs."""
    from dpictl.flowlogs.kernel_counters import enable_accounting

    try:
        enable_accounting(node_netns)
    except Exception as exc:
        log.warning("no flow accounting in %s: %s", node_netns, exc)


__all__ = ["PodRuntimeManager", "SERVER_START_TIMEOUT"]
