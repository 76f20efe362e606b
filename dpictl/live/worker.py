"""One worker: a live packet source read in batches, one engine, and the counters.

The worker reads whatever the rings hold (one poll serves a whole block of packets), times
every frame through the engine so that a stall is seen as a number (`worst_packet_us`)
rather than as unexplained drops, and hands detections and periodic stats snapshots to two
callbacks. Those callbacks are direct calls when the worker runs in the inspecting process,
and pipe writes when it runs in a forked child (see session.py): the loop is the same.

At stop it quiesces the source (the kernel queues nothing more), inspects what was still in
the rings, flushes the engine, and reports a final snapshot whose counters add up exactly.
"""

from __future__ import annotations

import os
import signal
import threading
import time
from typing import Callable, Protocol

from dpictl.capture.frame import Frame
from dpictl.engine.contract import InspectionEngine
from dpictl.engine.packet import Detection
from dpictl.live.stats import WorkerStats


class LiveSource(Protocol):
    """What a worker needs of its capture: `AfPacketSource` offers it."""

    def read(self, timeout: float | None = None) -> list[Frame]: ...

    def quiesce(self) -> list[Frame]: ...

    def stats(self) -> dict[str, dict[str, int]]: ...

    def stop(self) -> None: ...

    def close(self) -> None: ...

    def release(self) -> None: ...


DetectionCallback = Callable[[list[Detection]], None]
StatsCallback = Callable[[WorkerStats], None]


def die_with_parent(parent_pid: int, sig: int = signal.SIGTERM) -> None:
    """Make the kernel send `sig` to this forked worker when its parent dies.

    A worker killed with its parent (kill -9, OOM) must not go on capturing unseen: pipe EOF
    cannot tell it, since forked siblings hold copies of the pipes. prctl(PR_SET_PDEATHSIG)
    has no wrapper in the standard library, hence ctypes; the parent may already be gone
    when it takes effect, which getppid() tells.
    """
    import ctypes

    pr_set_pdeathsig = 1
    try:
        ctypes.CDLL(None, use_errno=True).prctl(pr_set_pdeathsig, int(sig), 0, 0, 0)
    except (OSError, AttributeError):
        pass
    if os.getppid() != parent_pid:
        os.kill(os.getpid(), sig)


class CaptureWorker:
    """Runs until `stop` is set; see the module docstring."""

    def __init__(self, engine: InspectionEngine, source: LiveSource, *, index: int = 0,
                 on_detections: DetectionCallback, on_stats: StatsCallback,
                 stats_interval: float = 8.0) -> None:
        self.engine = engine
        self.source = source
        self.index = index
        self.on_detections = on_detections
        self.on_stats = on_stats
        self.stats_interval = stats_interval
        self.stop_event = threading.Event()
        self._worst = 0.0
        self._alerts = 0

    def stop(self) -> None:
        """Safe from a signal handler or another thread: the loop wakes and winds down."""
        self.stop_event.set()
        self.source.stop()

    def run(self) -> WorkerStats:
        """Inspect until stopped; returns (and reports) the final snapshot."""
        next_stats = time.monotonic() + self.stats_interval
        stopped = self.stop_event.is_set
        try:
            while not stopped():
                wait = max(0.0, next_stats - time.monotonic())
                frames = self.source.read(min(wait, 1.0))
                if frames:
                    self._inspect(frames)
                if time.monotonic() >= next_stats:
                    self.on_stats(self.snapshot())
                    next_stats = time.monotonic() + self.stats_interval
        finally:
            self._inspect(self.source.quiesce())
            self._emit(self.engine.flush())
            final = self.snapshot(final=True)
            self.on_stats(final)
        return final

    def snapshot(self, final: bool = False) -> WorkerStats:
        snap = WorkerStats(worker=self.index, interfaces=self.source.stats(),
                           alerts=self._alerts, worst_packet_us=self._worst * 1e6, final=final)
        snap.take_engine(self.engine.stats)
        return snap

    def _inspect(self, frames: list[Frame]) -> None:
        feed, clock, worst = self.engine.feed, time.perf_counter, self._worst
        found: list[Detection] = []
        for ts, frame, linktype, iface in frames:
            started = clock()
            dets = feed(ts, frame, linktype, iface)
            took = clock() - started
            if took > worst:
                worst = took
            if dets:
                found.extend(dets)
        self._worst = worst
        if found:
            self._emit(found)

    def _emit(self, detections: list[Detection]) -> None:
        if detections:
            self._alerts += len(detections)
            self.on_detections(detections)


__all__ = ["CaptureWorker", "LiveSource", "die_with_parent"]
