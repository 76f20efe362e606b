"""A live inspection run: N workers sharing the interfaces, one place for alerts and stats.

With one worker everything runs in this process. With more, the rules are compiled once
here and the workers are forked, so they share the compiled engine's memory copy-on-write
(no worker compiles anything). Every worker gets its own AF_PACKET socket per interface,
joined in one PACKET_FANOUT group per interface with a symmetric flow hash and the defrag
flag, so both directions of a flow, and every fragment, reach the same worker and its flow
table. The sockets are all opened here, before the fork: a missing interface or a missing
capability fails at once with one line, and the fanout group is complete before any packet
is inspected.

Workers send detections and cumulative stats snapshots back over a pipe; this process turns
detections into alerts (store first, then show: `on_detections`) and merges the snapshots
into one `LiveStats`, handed to `on_stats` every `stats_interval` seconds and once at the end.

Stopping: SIGINT/SIGTERM (or `stop()`) in this process tells every worker to stop; each
quiesces its rings, inspects what they still held, flushes its engine and sends a final
snapshot, so the final counts add up exactly. A worker that dies instead is reported in
`failures`; the kernel hands its share of the traffic to the workers left.
"""

from __future__ import annotations

import multiprocessing
import os
import random
import signal
import threading
import time
from dataclasses import dataclass
from multiprocessing.connection import Connection, wait
from typing import Any, Callable

from dpictl.engine.packet import Detection
from dpictl.live.stats import LiveStats, WorkerStats
from dpictl.engine.contract import InspectionEngine
from dpictl.live.worker import CaptureWorker, LiveSource, die_with_parent

CHILD_STATS_EVERY = 1.0        # how often forked workers report (the merged view stays fresh)
STOP_GRACE = 60.0              # a stopping worker that has not finished by then is killed


@dataclass(frozen=True, slots=True)
class LiveOptions:
    interfaces: tuple[str, ...]
    netns: str | None = None
    workers: int = 1
    stats_interval: float = 8.0
    ring_mb: int = 32                   # ring per interface and worker


SourceOpener = Callable[[LiveOptions, int | None], LiveSource]


# Ring blocks of 128 KiB: a block must hold the largest frame (64 KiB on a veth with MTU
# 65535), and the kernel hands a block over when it is full *or* after the block timeout,
# so at a low rate each block holds only a timeout's worth of packets: many small blocks
# buffer far longer than few large ones (32 MiB = 256 blocks = 12.8 s at 50 ms each).
BLOCK_SIZE = 128 << 10
BLOCKS_PER_MIB = (1 << 20) // BLOCK_SIZE


def open_afpacket(options: LiveOptions, fanout_group: int | None) -> LiveSource:
    """An AfPacketSource with a ring of `ring_mb` MiB per interface."""
    from dpictl.capture import AfPacketSource

    return AfPacketSource(list(options.interfaces), netns=options.netns,
                          block_size=BLOCK_SIZE,
                          block_count=max(2, options.ring_mb * BLOCKS_PER_MIB),
                          fanout_group=fanout_group)


class LiveInspection:
    """`LiveInspection(options)` opens every socket (and raises at once on a bad interface,
    before any rule is compiled); `run(engine, ...)` inspects until stopped."""

    def __init__(self, options: LiveOptions, open_source: SourceOpener = open_afpacket) -> None:
        if options.workers < 1:
            raise ValueError("workers must be at least 1")
        self.options = options
        self.engine: InspectionEngine | None = None
        self.on_detections: Callable[[list[Detection]], None] = lambda dets: None
        self.on_stats: Callable[[LiveStats], None] = lambda stats: None
        self.stats = LiveStats()
        self.failures: list[str] = []
        self._stopping = threading.Event()
        group = random.randrange(1, 0xFFFF) if options.workers > 1 else None
        self._sources: list[LiveSource] = []
        try:
            for _ in range(options.workers):
                self._sources.append(open_source(options, group))
        except BaseException:
            self.close()
            raise
        self._worker: CaptureWorker | None = None
        self._children: list[tuple[Any, Connection]] = []

    def close(self) -> None:
        for source in self._sources:
            _close(source)
        self._sources = []

    def stop(self) -> None:
        """Ask every worker to finish (safe from a signal handler)."""
        self._stopping.set()
        if self._worker is not None:
            self._worker.stop()
        for proc, _conn in self._children:
            if proc.pid is not None:
                try:
                    os.kill(proc.pid, signal.SIGTERM)
                except ProcessLookupError:
                    pass

    def run(self, engine: InspectionEngine, on_detections: Callable[[list[Detection]], None],
            on_stats: Callable[[LiveStats], None] = lambda stats: None) -> LiveStats:
        """Inspect until SIGINT/SIGTERM or `stop()`; returns the final merged stats.

        `on_detections` gets every batch of detections (in this process, whatever worker
        found them); `on_stats` the merged stats every `stats_interval` and once at the end.
        """
        self.engine, self.on_detections, self.on_stats = engine, on_detections, on_stats
        previous = _install_stop_handlers(self.stop)
        try:
            if self.options.workers == 1:
                self._run_here()
            else:
                self._run_forked()
        finally:
            _restore_handlers(previous)
            self.close()
        self.on_stats(self.stats)
        return self.stats

    # -- one worker, in this process ------------------------------------------------------
    def _run_here(self) -> None:
        def on_stats(snap: WorkerStats) -> None:
            self.stats.update(snap)
            if not snap.final:
                self.on_stats(self.stats)

        assert self.engine is not None
        self._worker = CaptureWorker(self.engine, self._sources[0], index=0,
                                     on_detections=self.on_detections, on_stats=on_stats,
                                     stats_interval=self.options.stats_interval)
        if self._stopping.is_set():
            self._worker.stop()
        self._worker.run()

    # -- forked workers -------------------------------------------------------------------
    def _run_forked(self) -> None:
        ctx = multiprocessing.get_context("fork")
        for index in range(self.options.workers):
            receive, send = ctx.Pipe(duplex=False)
            proc = ctx.Process(target=_child_main, name=f"dpictl-worker-{index}",
                               args=(self.engine, self._sources, index, send,
                                     min(CHILD_STATS_EVERY, self.options.stats_interval),
                                     os.getpid()),
                               daemon=True)
            proc.start()
            send.close()
            self._children.append((proc, receive))
        for source in self._sources:  # the children own the sockets now
            source.release()
        self._sources = []
        if self._stopping.is_set():
            self.stop()
        self._collect()

    def _collect(self) -> None:
        open_conns = {conn: proc for proc, conn in self._children}
        finished: set[int] = set()
        next_stats = time.monotonic() + self.options.stats_interval
        deadline: float | None = None
        while open_conns:
            if self._stopping.is_set() and deadline is None:
                deadline = time.monotonic() + STOP_GRACE
            timeout = max(0.0, min(next_stats - time.monotonic(), 0.5))
            for conn in wait(list(open_conns), timeout):
                proc = open_conns[conn]
                try:
                    kind, payload = conn.recv()
                except (EOFError, OSError):
                    del open_conns[conn]
                    proc.join(5)
                    if proc.name not in finished:
                        self.failures.append(f"{proc.name} ended without finishing "
                                             f"(exit code {proc.exitcode})")
                    continue
                if kind == "detections":
                    self.on_detections(payload)
                else:
                    self.stats.update(payload)
                    if payload.final:
                        finished.add(proc.name)
            now = time.monotonic()
            if now >= next_stats:
                self.on_stats(self.stats)
                next_stats = now + self.options.stats_interval
            if deadline is not None and now > deadline:
                for conn, proc in open_conns.items():
                    proc.kill()
                    self.failures.append(f"{proc.name} did not stop in {STOP_GRACE:.0f}s")
                break
        for proc, conn in self._children:
            proc.join(5)
            conn.close()


def _child_main(engine: InspectionEngine, sources: list[LiveSource], index: int,
                conn: Connection, stats_every: float, parent: int) -> None:
    """A forked worker: keep its own socket, close the others' copies, inspect, report."""
    signal.signal(signal.SIGINT, signal.SIG_IGN)       # Ctrl-C reaches the parent, which asks
    mine = sources[index]
    for other in sources:
        if other is not mine:
            other.release()
    worker = CaptureWorker(engine, mine, index=index,
                           on_detections=lambda dets: conn.send(("detections", dets)),
                           on_stats=lambda snap: conn.send(("stats", snap)),
                           stats_interval=stats_every)
    signal.signal(signal.SIGTERM, lambda *_: worker.stop())
    die_with_parent(parent)
    try:
        worker.run()
    finally:
        _close(mine)
        conn.close()


def _close(source: LiveSource) -> None:
    try:
        source.close()
    except OSError:
        pass


def _install_stop_handlers(stop: Callable[[], None]) -> dict[int, Any]:
    """SIGINT and SIGTERM end the run the same way: stop, drain, flush, count."""
    if threading.current_thread() is not threading.main_thread():
        return {}
    previous = {}
    for sig in (signal.SIGINT, signal.SIGTERM):
        previous[sig] = signal.signal(sig, lambda *_: stop())
    return previous


def _restore_handlers(previous: dict[int, Any]) -> None:
    for sig, handler in previous.items():
        signal.signal(sig, handler)


__all__ = ["LiveInspection", "LiveOptions", "open_afpacket", "SourceOpener"]
