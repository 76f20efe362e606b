"""`WorkerPool`: the agent's capture and inspection in N forked processes.

The same mechanism as `dpictl inspect --workers N` (dpictl.live): the rules are compiled once
in the agent, the workers are forked so they share the compiled engine copy-on-write, and each
worker has its own AF_PACKET socket per inspected interface, joined in that interface's
PACKET_FANOUT group (symmetric flow hash, defrag flag), so both directions of a flow reach
the same worker and its flow table. Each worker keeps one engine fork per interface.

The pool is the controller's dataplane (controller.Dataplane): `add(iface)` returns once every
worker captures on it, or raises the first worker's error (the others let go of it again);
`remove(iface)` returns the detections the workers' engines still held for that interface;
`stats()` gives, per interface, the kernel's counters summed over the workers' sockets, the
frames inspected and the slowest single frame. Detections found while capturing reach the
controller through `on_detections(iface, dets)` from the pool's reader thread.

Workers are single-threaded: between two reads of their rings (at most `POLL` seconds apart)
they run the commands the agent sent, so no engine is ever flushed while it is being fed.
A worker that dies is reported through `on_error` and forked again on the interfaces wanted;
the kernel hands its share of the traffic to the other workers meanwhile. New rules
(`set_engine`) fork a new set of workers: each old worker quiesces its rings, inspects what
they held and flushes its engines before it exits.
"""

from __future__ import annotations

import itertools
import logging
import multiprocessing
import os
import random
import signal
import threading
import time
from multiprocessing.connection import Connection, wait
from typing import Any, Callable

from dpictl.engine.contract import InspectionEngine
from dpictl.engine.packet import Detection
from dpictl.errors import CaptureError
from dpictl.forklock import FORK_LOCK
from dpictl.live.worker import die_with_parent

log = logging.getLogger(__name__)

POLL = 0.05                  # a worker runs commands at least this often
STATS_EVERY = 1.0            # seconds between a worker's stats reports
REPLY_TIMEOUT = 20.0         # an add/remove every worker has not answered by then fails

# Opens a live source in a worker: open_source(ifaces, fanout_group, on_vanished)
WorkerSourceFactory = Callable[..., Any]


class WorkerPool:
    """See the module docstring. Start with `start()`; end with `stop()`."""

    def __init__(self, engine: InspectionEngine, workers: int, open_source: WorkerSourceFactory,
                 on_detections: Callable[[str, list[Detection]], None],
                 on_error: Callable[[str | None, str], None]) -> None:
        if workers < 2:
            raise ValueError("a WorkerPool has at least two workers (one runs in-process)")
        self._engine = engine
        self._count = workers
        self._open_source = open_source
        self._on_detections = on_detections
        self._on_error = on_error
        self._group = random.randrange(1, 0xFFFF)
        self._lock = threading.RLock()
        self._wanted: set[str] = set()
        self._workers: dict[int, _Worker] = {}
        self._retiring: list[_Worker] = []        # old rules: finishing, still read
        self._stats: dict[int, dict[str, dict[str, float]]] = {}
        self._closed: dict[str, dict[str, float]] = {}       # counts of workers gone
        self._replies: dict[tuple[int, int], Any] = {}
        self._reply_ready = threading.Condition(self._lock)
        self._seq = itertools.count(1)
        self._stopping = False
        self._reader: threading.Thread | None = None

    # -- lifecycle ------------------------------------------------------------------------
    def start(self) -> None:
        with self._lock:
            for index in range(self._count):
                self._workers[index] = _Worker.fork(index, self._engine, self._open_source,
                                                    self._group, sorted(self._wanted))
        self._reader = threading.Thread(target=self._read_loop, name="dpictl-pool-reader",
                                        daemon=True)
        self._reader.start()

    def stop(self, timeout: float = 30.0) -> None:
        """Every worker quiesces, inspects what its rings held, flushes, reports, exits."""
        with self._lock:
            self._stopping = True
            workers = list(self._workers.values())
        for worker in workers:
            worker.send(("stop",))
        deadline = time.monotonic() + timeout
        for worker in workers:
            worker.proc.join(max(0.1, deadline - time.monotonic()))
            if worker.proc.is_alive():
                worker.proc.kill()
                worker.proc.join(5)
        if self._reader is not None:
            self._reader.join(timeout=5)

    def set_engine(self, engine: InspectionEngine) -> None:
        """New rules: a new set of workers with the new engine replaces the old one. The new
        workers join the fanout groups before the old ones let go, so no packet goes
        uninspected in between (for a moment, both sets share the traffic)."""
        with self._lock:
            old = list(self._workers.values())
            self._engine = engine
            for index in range(self._count):
                self._workers[index] = _Worker.fork(index, engine, self._open_source,
                                                    self._group, sorted(self._wanted))
            for worker in old:
                worker.retired = True
                self._retiring.append(worker)
        for worker in old:
            worker.send(("stop",))

    # -- the Dataplane the controller drives ----------------------------------------------
    @property
    def interfaces(self) -> set[str]:
        with self._lock:
            return set(self._wanted)

    def add(self, iface: str) -> None:
        with self._lock:
            if iface in self._wanted:
                return
        replies = self._ask(("add", iface))
        errors = [r for r in replies.values() if isinstance(r, str)]
        if errors:
            self._ask(("remove", iface))
            raise CaptureError(errors[0])
        with self._lock:
            self._wanted.add(iface)

    def remove(self, iface: str) -> list[Detection]:
        with self._lock:
            if iface not in self._wanted:
                return []
            self._wanted.discard(iface)
        out: list[Detection] = []
        for reply in self._ask(("remove", iface)).values():
            if isinstance(reply, list):
                out.extend(reply)
        return out

    def stats(self) -> dict[str, dict[str, float]]:
        with self._lock:
            merged: dict[str, dict[str, float]] = {
                iface: dict(counts) for iface, counts in self._closed.items()}
            for per_iface in self._stats.values():
                for iface, counts in per_iface.items():
                    mine = merged.setdefault(iface, {})
                    for key, value in counts.items():
                        if key == "worst_packet_us":
                            mine[key] = max(mine.get(key, 0.0), value)
                        else:
                            mine[key] = mine.get(key, 0) + value
            return merged

    # -- internals ------------------------------------------------------------------------
    def _ask(self, command: tuple) -> dict[int, Any]:
        """Send a command to every live worker and wait for each one's reply."""
        seq = next(self._seq)
        with self._lock:
            workers = [w for w in self._workers.values() if not w.retired]
        for worker in workers:
            worker.send((*command, seq))
        deadline = time.monotonic() + REPLY_TIMEOUT
        replies: dict[int, Any] = {}
        with self._reply_ready:
            for worker in workers:
                key = (worker.index, seq)
                while key not in self._replies and worker.proc.is_alive():
                    left = deadline - time.monotonic()
                    if left <= 0:
                        break
                    self._reply_ready.wait(min(left, 0.2))
                if key in self._replies:
                    replies[worker.index] = self._replies.pop(key)
                elif command[0] == "add":
                    replies[worker.index] = f"worker {worker.index} did not answer"
        return replies

    def _read_loop(self) -> None:
        while True:
            with self._lock:
                conns = {w.conn: w for w in [*self._workers.values(), *self._retiring]}
                if not conns and self._stopping:
                    return
            for conn in wait(list(conns), 0.5):
                worker = conns[conn]
                try:
                    message = conn.recv()
                except (EOFError, OSError):
                    self._worker_gone(worker)
                    continue
                self._handle(worker, message)

    def _handle(self, worker: "_Worker", message: tuple) -> None:
        kind = message[0]
        if kind == "detections":
            self._on_detections(message[1], message[2])
        elif kind == "stats":
            with self._lock:
                self._stats[id(worker)] = message[1]
        elif kind == "reply":
            with self._reply_ready:
                self._replies[(worker.index, message[1])] = message[2]
                self._reply_ready.notify_all()
        elif kind == "error":
            self._on_error(message[1], message[2])

    def _worker_gone(self, worker: "_Worker") -> None:
        worker.proc.join(5)
        with self._lock:
            if self._workers.get(worker.index) is worker:
                del self._workers[worker.index]
            if worker in self._retiring:
                self._retiring.remove(worker)
            for iface, counts in self._stats.pop(id(worker), {}).items():
                mine = self._closed.setdefault(iface, {})
                for key, value in counts.items():
                    if key == "worst_packet_us":
                        mine[key] = max(mine.get(key, 0.0), value)
                    else:
                        mine[key] = mine.get(key, 0) + value
            restart = not (self._stopping or worker.retired)
            if restart:
                self._workers[worker.index] = _Worker.fork(
                    worker.index, self._engine, self._open_source, self._group,
                    sorted(self._wanted))
            worker.conn.close()
        if restart:
            self._on_error(None, f"inspection worker {worker.index} died (exit code "
                                 f"{worker.proc.exitcode}); restarted")


class _Worker:
    """The agent's handle on one forked worker."""

    def __init__(self, index: int, proc: Any, conn: Connection, commands: Connection) -> None:
        self.index = index
        self.proc = proc
        self.conn = conn                # worker -> agent
        self.commands = commands        # agent -> worker
        self.retired = False

    @classmethod
    def fork(cls, index: int, engine: InspectionEngine, open_source: WorkerSourceFactory,
             group: int, ifaces: list[str]) -> "_Worker":
        ctx = multiprocessing.get_context("fork")
        up_recv, up_send = ctx.Pipe(duplex=False)
        down_recv, down_send = ctx.Pipe(duplex=False)
        proc = ctx.Process(target=_worker_main, name=f"dpictl-agent-worker-{index}",
                           args=(engine, open_source, group, ifaces, down_recv, up_send,
                                 os.getpid()),
                           daemon=True)
        with FORK_LOCK:                 # no subprocess pipes of another thread inherited
            proc.start()
        up_send.close()
        down_recv.close()
        return cls(index, proc, up_recv, down_send)

    def send(self, command: tuple) -> None:
        try:
            self.commands.send(command)
        except (OSError, ValueError):
            pass                        # it died; the reader notices and reports


def _worker_main(engine: InspectionEngine, open_source: WorkerSourceFactory, group: int,
                 ifaces: list[str], commands: Connection, up: Connection, agent: int) -> None:
    """The worker: capture, inspect, report; commands between two reads."""
    signal.signal(signal.SIGINT, signal.SIG_IGN)        # the agent decides when to stop
    signal.signal(signal.SIGTERM, signal.SIG_DFL)       # sent when the agent dies
    die_with_parent(agent)
    vanished: list[str] = []
    source = open_source(list(ifaces), fanout_group=group, on_vanished=vanished.append)
    engines = {iface: engine.fork() for iface in ifaces}
    inspected: dict[str, int] = dict.fromkeys(ifaces, 0)
    worst: dict[str, float] = dict.fromkeys(ifaces, 0.0)
    next_stats = 0.0

    def inspect(frames: list) -> None:
        found: dict[str, list[Detection]] = {}
        clock = time.perf_counter
        for ts, frame, linktype, iface in frames:
            eng = engines.get(iface)
            if eng is None:
                continue
            inspected[iface] += 1
            started = clock()
            dets = eng.feed(ts, frame, linktype, iface)
            took = (clock() - started) * 1e6
            if took > worst[iface]:
                worst[iface] = took
            if dets:
                found.setdefault(iface, []).extend(dets)
        for iface, dets in found.items():
            up.send(("detections", iface, dets))

    def report() -> None:
        kernel = source.stats()
        up.send(("stats", {iface: {**{k: float(v) for k, v in kernel.get(iface, {}).items()},
                                   "inspected": float(inspected.get(iface, 0)),
                                   "worst_packet_us": worst.get(iface, 0.0)}
                           for iface in set(kernel) | set(inspected)}))

    running = True
    try:
        while running:
            inspect(source.read(POLL))
            while vanished:
                iface = vanished.pop()
                rest = engines.pop(iface, None)
                if rest is not None:
                    dets = rest.flush()
                    if dets:
                        up.send(("detections", iface, dets))
                up.send(("error", iface, f"interface {iface} vanished"))
            while running and commands.poll(0):
                command = commands.recv()
                running = _run_command(command, source, engine, engines, inspected, worst, up)
            if time.monotonic() >= next_stats:
                report()
                next_stats = time.monotonic() + STATS_EVERY
    except (EOFError, OSError, KeyboardInterrupt):
        pass                            # the agent went away: finish what we hold
    finally:
        try:
            inspect(source.quiesce())
            for iface, eng in engines.items():
                dets = eng.flush()
                if dets:
                    up.send(("detections", iface, dets))
            report()
        except OSError:
            pass                        # nobody left to tell
        finally:
            source.close()
            up.close()


def _run_command(command: tuple, source: Any, engine: InspectionEngine,
                 engines: dict[str, InspectionEngine], inspected: dict[str, int],
                 worst: dict[str, float], up: Connection) -> bool:
    """One command from the agent; False ends the worker."""
    kind = command[0]
    if kind == "stop":
        return False
    iface, seq = command[1], command[2]
    if kind == "add":
        try:
            source.add(iface)
        except Exception as exc:  # e.g. NotFound: the agent reports it on the resource
            up.send(("reply", seq, f"cannot capture on {iface}: {exc}"))
            return True
        engines.setdefault(iface, engine.fork())
        inspected.setdefault(iface, 0)
        worst.setdefault(iface, 0.0)
        up.send(("reply", seq, None))
    elif kind == "remove":
        try:
            source.remove(iface)
        except Exception as exc:  # already gone with its pod
            log.debug("remove %s: %s", iface, exc)
        rest = engines.pop(iface, None)
        up.send(("reply", seq, rest.flush() if rest is not None else []))
    return True


__all__ = ["WorkerPool", "WorkerSourceFactory"]
