"""The flow log collector: a thread beside the agent's capture loop, reading the node's
conntrack and flushing Calico flow log records every `flowLogsFlushInterval`.

It shares nothing with the capture loop (its own thread, its own netlink sockets, its own
backend handle through `endpoints`), so inspection is unchanged by it; it wakes when a
connection ends (a DESTROY event), at each flush, and when asked to flush now (`request_flush`,
safe from a signal handler: the run-lab's flush at the end, the agent's shutdown).

The node netns may not exist yet when the agent starts (the lab creates it with its first
pod) and is re-created by a later `lab up`: the collector attaches when it appears, turns
accounting on there, and re-attaches when it is replaced, flushing what it had first.
"""

from __future__ import annotations

import logging
import os
import select
import threading
import time
from typing import Any, Callable, Iterable

from dpictl.backends.base import WorkloadEndpoint
from dpictl.backends.local.kernel import netns_path
from dpictl.flowlogs import conntrack
from dpictl.flowlogs.aggregator import FlowAggregator, Peer, network_peer, workload_peer
from dpictl.flowlogs.record import FlowLog

log = logging.getLogger(__name__)

RESOLVE_REFRESH_S = 1.0         # an unknown IP re-reads the endpoints at most this often


class WorkloadDirectory:
    """IP -> workload, from the cluster's endpoints. A pod deleted meanwhile keeps its name
    until its IP is given to another: its last connections still belong to it. With `node`,
    only that node's workloads report (the others are named, not reported)."""

    def __init__(self, endpoints: Callable[[], Iterable[WorkloadEndpoint]],
                 node: str | None = None) -> None:
        self._endpoints = endpoints
        self._node = node
        self._peers: dict[str, Peer] = {}
        self._refreshed = float("-inf")

    def refresh(self) -> None:
        self._refreshed = time.monotonic()
        try:
            found = list(self._endpoints())
        except Exception as exc:   # a busy state file must not stop the collector
            log.warning("flow logs: cannot read the endpoints: %s", exc)
            return
        for ep in found:
            if ep.ip:
                self._peers[ep.ip] = workload_peer(
                    ep.name, ep.namespace, dict(ep.labels),
                    local=self._node is None or ep.node == self._node)

    def __call__(self, ip: str) -> Peer:
        peer = self._peers.get(ip)
        if peer is None and time.monotonic() - self._refreshed >= RESOLVE_REFRESH_S:
            self.refresh()
            peer = self._peers.get(ip)
        return peer or network_peer(ip)


class FlowCollector:
    """Collects in its own thread (`start`/`stop`), or step by step (`attach`, `poll`,
    `flush`) for tests and benchmarks."""

    def __init__(self, netns: str | None, endpoints: Callable[[], Iterable[WorkloadEndpoint]],
                 sink: Callable[[list[FlowLog]], Any], interval: Callable[[], float],
                 host: str = "", on_flush: Callable[[dict], None] | None = None,
                 retry: float = 1.0, on_stop: Callable[[], None] | None = None,
                 node: str | None = None) -> None:
        self.netns = netns
        self.sink = sink
        self.interval = interval
        self.on_flush = on_flush
        self.retry = retry
        self.on_stop = on_stop              # releases what `endpoints`/`sink` hold
        self.directory = WorkloadDirectory(endpoints, node)
        self.aggregator = FlowAggregator(self.directory, host=host)
        self._lock = threading.RLock()
        self._events = self._dump = None
        self._inode: tuple[int, int] | None = None
        self._interval_start = time.time()
        self._stop = threading.Event()
        self._wake_r, self._wake_w = os.pipe2(os.O_NONBLOCK | os.O_CLOEXEC)
        self._flush_wanted = False
        self._thread: threading.Thread | None = None
        self.attached = threading.Event()   # set while reading a netns (tests wait on it)
        self._cpu_done = 0.0                # CPU of the thread's finished iterations
        self._iteration_cpu: float | None = None
        self.stats: dict[str, Any] = {"flushes": 0, "records": 0, "connections": 0,
                                      "flushed": None, "cpu_seconds": 0.0, "error": None,
                                      "netns": netns}

    # -- attaching to the node netns ---------------------------------------------------------
    def _current_inode(self) -> tuple[int, int] | None:
        try:
            st = os.stat(netns_path(self.netns) if self.netns else "/proc/self/ns/net")
        except OSError:
            return None
        return st.st_ino, st.st_dev

    def attach(self) -> bool:
        """Attached to the netns as it is now (re-attached if it was replaced)."""
        inode = self._current_inode()
        if inode is not None and inode == self._inode and self._events is not None:
            return True
        with self._lock:
            if self._events is not None:
                self._flush_locked()         # what the old netns did, before it goes
                self._close_sockets()
            if inode is None:
                return False
            try:
                conntrack.enable_accounting(self.netns)
                self._events = conntrack.open_socket(self.netns, events=True)
                self._dump = conntrack.open_socket(self.netns)
            except Exception as exc:
                self._close_sockets()
                if self.stats["error"] != str(exc):
                    log.warning("flow logs off in netns %s: %s", self.netns, exc)
                self.stats["error"] = str(exc)
                return False
            self._inode = inode
            self.attached.set()
            self.stats["error"] = None
            self.directory.refresh()
            log.info("flow logs: reading conntrack in netns %s", self.netns)
            return True

    def _close_sockets(self) -> None:
        for sock in (self._events, self._dump):
            if sock is not None:
                sock.close()
        self._events = self._dump = None
        self._inode = None
        self.attached.clear()

    # -- the work ------------------------------------------------------------------------------
    def poll(self) -> int:
        """Count the connections that ended since the last call; returns how many."""
        with self._lock:
            if self._events is None:
                return 0
            ended = conntrack.read_events(self._events)
            self.aggregator.observe(ended)
            self.stats["connections"] += len(ended)
            return len(ended)

    def flush(self) -> list[FlowLog]:
        """End the interval now: ended and live connections' counters into records, handed
        to the sink."""
        with self._lock:
            return self._flush_locked()

    def _flush_locked(self) -> list[FlowLog]:
        now = time.time()
        if self._events is not None:
            self.poll()
            live = conntrack.dump(self._dump)
            self.aggregator.observe(live)
            self.aggregator.forget_missing(live)
            self.poll()                      # ended while dumping: counted once either way
        records = self.aggregator.flush(self._interval_start, now)
        self._interval_start = now
        if records:
            self.sink(records)
        self.stats.update(flushes=self.stats["flushes"] + 1,
                          records=self.stats["records"] + len(records), flushed=now,
                          cpu_seconds=self._cpu_so_far())
        if self.on_flush is not None:
            self.on_flush(dict(self.stats))
        return records

    def request_flush(self) -> None:
        """Flush as soon as the thread wakes (async-signal-safe: a flag and a pipe write)."""
        self._flush_wanted = True
        try:
            os.write(self._wake_w, b"f")
        except OSError:
            pass

    # -- the thread ------------------------------------------------------------------------------
    def start(self) -> "FlowCollector":
        self._thread = threading.Thread(target=self._run, name="flowlogs", daemon=True)
        self._thread.start()
        return self

    def stop(self, timeout: float = 10.0) -> None:
        """Flush what is pending and stop the thread."""
        self._stop.set()
        try:
            os.write(self._wake_w, b"s")
        except OSError:
            pass
        if self._thread is not None:
            self._thread.join(timeout)
        with self._lock:
            try:
                if self._events is not None:
                    self._flush_locked()
            except Exception as exc:
                log.warning("flow logs: last flush failed: %s", exc)
            self._close_sockets()
        for fd in (self._wake_r, self._wake_w):
            try:
                os.close(fd)
            except OSError:
                pass
        if self.on_stop is not None:
            self.on_stop()

    def _cpu_so_far(self) -> float:
        """The collector thread's CPU seconds, this iteration included when called in it."""
        if threading.current_thread() is self._thread and self._iteration_cpu is not None:
            return self._cpu_done + time.thread_time() - self._iteration_cpu
        return self._cpu_done

    def _run(self) -> None:
        next_flush = time.monotonic() + self._interval()
        while not self._stop.is_set():
            self._iteration_cpu = time.thread_time()
            try:
                if not self.attach():
                    self._wait(self.retry)
                    continue
                if self._flush_wanted or time.monotonic() >= next_flush:
                    self._flush_wanted = False
                    self.flush()
                    next_flush = time.monotonic() + self._interval()
                    continue
                self._wait(min(self.retry, max(0.0, next_flush - time.monotonic())))
                self.poll()
            except Exception as exc:   # a failed read is logged and retried, never fatal
                log.warning("flow logs: %s", exc)
                self.stats["error"] = str(exc)
                self._stop.wait(self.retry)
            finally:
                self._cpu_done += time.thread_time() - self._iteration_cpu
                self._iteration_cpu = None
                self.stats["cpu_seconds"] = self._cpu_done

    def _interval(self) -> float:
        try:
            return max(1.0, float(self.interval()))
        except Exception:
            return 300.0

    def _wait(self, timeout: float) -> None:
        fds = [self._wake_r] + ([self._events.fileno()] if self._events is not None else [])
        readable, _, _ = select.select(fds, [], [], timeout)
        if self._wake_r in readable:
            try:
                while os.read(self._wake_r, 64):
                    pass
            except BlockingIOError:
                pass


__all__ = ["FlowCollector", "WorkloadDirectory"]
