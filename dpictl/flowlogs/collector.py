"""The flow log collector: a thread beside the agent's capture loop, reading the kernel's
per-flow counters in the node netns and flushing Calico flow log records every
`flowLogsFlushInterval`.

It shares nothing with the capture loop (its own thread, its own backend handle through
`endpoints`), so inspection is unchanged by it; it reads the counters only at a flush (each
interval, or when asked: `request_flush`, safe from a signal handler - run-lab's flush at
the end - and `stop`, the agent's shutdown). See `kernel_counters` for why the kernel counts.

The node netns may not exist yet when the agent starts (the lab creates it with its first
pod) and is re-created by a later `lab up`: the collector attaches when it appears, installs
the counting table there if the backend has not, and re-attaches when it is replaced.
"""

from __future__ import annotations

import logging
import os
import threading
import time
from typing import Any, Callable, Iterable

from dpictl.backends.base import WorkloadEndpoint
from dpictl.backends.local.kernel import netns_path
from dpictl.flowlogs import kernel_counters
from dpictl.flowlogs.aggregator import FlowAggregator, Peer, network_peer, workload_peer
from dpictl.flowlogs.record import FlowLog

log = logging.getLogger(__name__)

RESOLVE_REFRESH_S = 1.0         # an unknown IP re-reads the endpoints at most this often
ATTACH_RETRY_S = 0.2            # until the node netns exists (an os.stat each time)
REATTACH_CHECK_S = 1.0          # how often a waiting thread checks that its netns is the same


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
    """Collects in its own thread (`start`/`stop`), or step by step (`attach`, `flush`) for
    tests and benchmarks."""

    def __init__(self, netns: str | None, endpoints: Callable[[], Iterable[WorkloadEndpoint]],
                 sink: Callable[[list[FlowLog]], Any], interval: Callable[[], float],
                 host: str = "", on_flush: Callable[[dict], None] | None = None,
                 retry: float = ATTACH_RETRY_S, on_stop: Callable[[], None] | None = None,
                 node: str | None = None,
                 counted_before: Callable[[tuple[int, int]], bool] | None = None,
                 flush_file: str | os.PathLike | None = None) -> None:
        self.netns = netns
        # A file another process creates to ask for a flush (`request_flush`); the thread
        # looks for it each time it wakes (at least every REATTACH_CHECK_S). A signal alone
        # is not enough: CPython runs a signal's handler in the main thread only, and when
        # the kernel delivers it to another thread while the main thread sleeps in a system
        # call, the handler waits until that call returns by itself.
        self.flush_file = flush_file
        self.sink = sink
        self.interval = interval
        self.on_flush = on_flush
        self.retry = retry
        self.on_stop = on_stop              # releases what `endpoints`/`sink` hold
        # Whether an earlier collector already reported this netns's counts (by its inode);
        # None: assume it did. Then what the kernel counted so far is the baseline, else it
        # is this interval's (traffic before the agent started is not lost).
        self.counted_before = counted_before
        self.directory = WorkloadDirectory(endpoints, node)
        self.aggregator = FlowAggregator(self.directory, host=host)
        self._lock = threading.RLock()
        self._inode: tuple[int, int] | None = None
        self._sock = None                   # nfnetlink, in the netns it was opened in
        self._interval_start = time.time()
        self._stop = threading.Event()
        self._wake = threading.Event()
        self._flush_wanted = False
        self._thread: threading.Thread | None = None
        self.attached = threading.Event()   # set while reading a netns (tests wait on it)
        self._cpu_done = 0.0                # CPU of the thread's finished iterations
        self._iteration_cpu: float | None = None
        self.stats: dict[str, Any] = {"flushes": 0, "records": 0, "keys": 0,
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
        """Counting in the netns as it is now (again if it was replaced: the old one's
        unflushed counts are gone with it; `lab down` stops the agent, which flushes, first)."""
        inode = self._current_inode()
        if inode is not None and inode == self._inode:
            return True
        with self._lock:
            self._inode = None
            self.attached.clear()
            self._close_socket()
            if inode is None:
                return False
            try:
                kernel_counters.enable_accounting(self.netns)
                self._sock = kernel_counters.open_socket(self.netns)
                if self.counted_before is None or self.counted_before(inode):
                    self.aggregator.baseline(kernel_counters.read_counters(self.netns,
                                                                           self._sock))
            except Exception as exc:
                self._close_socket()
                if self.stats["error"] != str(exc):
                    log.warning("flow logs off in netns %s: %s", self.netns, exc)
                self.stats["error"] = str(exc)
                return False
            self._inode = inode
            self.stats["netns_inode"] = list(inode)
            self._interval_start = time.time()
            self.attached.set()
            self.stats["error"] = None
            self.directory.refresh()
            log.info("flow logs: counting in netns %s", self.netns or "(own)")
            return True

    def _close_socket(self) -> None:
        if self._sock is not None:
            self._sock.close()
            self._sock = None

    # -- the work ------------------------------------------------------------------------------
    def flush(self) -> list[FlowLog]:
        """End the interval now: what each key counted since the last read, as records
        handed to the sink."""
        with self._lock:
            now = time.time()
            if self._inode is not None:
                counters = kernel_counters.read_counters(self.netns, self._sock)
                self.directory.refresh()
                self.aggregator.observe(counters)
                self.stats["keys"] = len(counters)
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
        """Flush as soon as the thread wakes (safe from a signal handler: a flag and an
        Event the thread waits on)."""
        self._flush_wanted = True
        self._wake.set()

    # -- the thread ------------------------------------------------------------------------------
    def start(self) -> "FlowCollector":
        self._thread = threading.Thread(target=self._run, name="flowlogs", daemon=True)
        self._thread.start()
        return self

    def stop(self, timeout: float = 10.0) -> None:
        """Flush what is pending and stop the thread."""
        self._stop.set()
        self._wake.set()
        if self._thread is not None:
            self._thread.join(timeout)
        try:
            if self._inode is not None and self._current_inode() == self._inode:
                self.flush()
        except Exception as exc:
            log.warning("flow logs: last flush failed: %s", exc)
        with self._lock:
            self._close_socket()
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
                    self._wake.wait(self.retry)
                    self._wake.clear()
                    continue
                if (self._flush_wanted or self._flush_file_found()
                        or time.monotonic() >= next_flush):
                    self._flush_wanted = False
                    self.flush()
                    next_flush = time.monotonic() + self._interval()
                    continue
                # Wake for a flush request, the next flush, or to see whether the netns
                # was replaced; nothing is read in between.
                self._wake.wait(min(REATTACH_CHECK_S, max(0.0, next_flush - time.monotonic())))
                self._wake.clear()
            except Exception as exc:   # a failed read is logged and retried, never fatal
                log.warning("flow logs: %s", exc)
                self.stats["error"] = str(exc)
                self._stop.wait(self.retry)
            finally:
                self._cpu_done += time.thread_time() - self._iteration_cpu
                self._iteration_cpu = None
                self.stats["cpu_seconds"] = self._cpu_done

    def _flush_file_found(self) -> bool:
        if self.flush_file is None:
            return False
        try:
            os.unlink(self.flush_file)
            return True
        except FileNotFoundError:
            return False
        except OSError as exc:
            log.warning("flow logs: cannot take the flush request %s: %s", self.flush_file, exc)
            return False

    def _interval(self) -> float:
        try:
            return max(1.0, float(self.interval()))
        except Exception:
            return 300.0


__all__ = ["FlowCollector", "WorkloadDirectory"]
