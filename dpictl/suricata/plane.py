"""Suricata as the agent's data plane: one Suricata per node, behind the agent's own seams.

The agent loop (`dpictl.agent.runtime`) knows two pluggable things: a rule compiler
(`engine_factory(paths) -> LoadedRules`) and a packet source factory
(`capture_factory(ifaces) -> PacketSource`). `SuricataPlane` provides both, so the controller
(selection, per-endpoint monitors, status.nodes[], the alert store) runs unchanged:

- the "source" runs one Suricata on every selected interface (AF_PACKET, workers,
  cluster_flow, inside the node netns) and yields its EVE alert records instead of frames,
  each tagged with `in_iface`, so the controller hands an alert to every monitor of that
  interface - one alert per inspected endpoint, as with the Python engine;
- the "engine" (`EveEngine`) turns such a record into a Detection carrying the dpictl rule.

Rule changes are applied with Suricata's `reload-rules` (unix socket, no capture gap).
Interface changes need a new Suricata (Suricata 7 cannot add an AF_PACKET interface to a
running engine): the new one is started beside the old one (other fanout groups, same EVE
FIFO) and the old one stops only once the new one captures, so interfaces that stay selected
are never blind; a new interface is inspected once the new Suricata has loaded its rules
(`last_restart_seconds`). A new Suricata starts on every interface the controller's
selection holds at that moment, not just the one asked for: the controller asks one interface
at a time, and 50 pods selected at once then cost one start (each loads every rule), not 50.
Removals are applied after a short delay, so a "stop everything, start again" pass of the
controller (new rules) costs no restart. A
Suricata that dies is reported on every interface it served (the controller puts that in
status.nodes[].errorConditions) and restarted with exponential backoff.
"""

from __future__ import annotations

import logging
import shutil
import subprocess
import threading
import time
from dataclasses import dataclass
from pathlib import Path
from typing import Any, Callable, Iterator, Sequence

from dpictl.rules.ast import Rule
from dpictl.suricata.binary import SuricataBinary
from dpictl.suricata.config import SuricataSettings
from dpictl.suricata.eve_reader import (EveFollower, detection_from_eve, make_fifo,
                                        stats_from_eve)
from dpictl.suricata.process import START_TIMEOUT, SuricataProcess
from dpictl.suricata.rulefile import check_with_suricata, translate_ruleset
from dpictl.suricata.stats import SuricataStats, add_counts, final_device_counts

log = logging.getLogger(__name__)

LINKTYPE_EVE = -1             # the "frames" of this source are EVE records, not packets
REMOVE_DELAY = 3.0            # seconds before a removed interface costs a restart
MAX_BACKOFF = 30.0


class EveEngine:
    """The Engine interface over EVE records: `feed` returns the record's Detection."""

    rule_report: list = []

    def __init__(self, rules: dict[tuple[int, int], Rule]) -> None:
        self.rules = rules

    def fork(self) -> "EveEngine":
        return self               # no per-monitor state: Suricata keeps the flows

    def feed(self, ts: float, frame: Any, linktype: int, iface: str | None = None) -> list:
        if linktype != LINKTYPE_EVE or not isinstance(frame, dict):
            return []
        det = detection_from_eve(frame, self.rules)
        return [det] if det is not None else []

    def flush(self) -> list:
        return []


@dataclass(slots=True)
class Loaded:
    """What `runtime.LoadedRules` holds (duck-typed, so the agent package is not imported)."""

    engine: EveEngine
    paths: tuple[str, ...]
    rules: int
    errors: int
    seconds: float


class SuricataPlane:
    """Rule compiler + source factory for the agent, sharing one rule file and one Suricata."""

    def __init__(self, binary: SuricataBinary, work_dir: Path, *, netns: str | None = None,
                 variables: dict[str, str] | None = None, stats_interval: int = 8) -> None:
        self.binary = binary
        self.stats_interval = stats_interval
        self.netns = netns
        self.variables = dict(variables or {})
        self.work_dir = Path(work_dir)
        self.work_dir.mkdir(parents=True, exist_ok=True)
        self.rules_path = self.work_dir / "dpictl.rules"
        self.on_error: Callable[[str | None, str], None] | None = None
        self.controller: Any = None
        self.source: SuricataSource | None = None
        self.failures = 0
        self.restarts = 0
        self.last_blind_seconds: float | None = None
        self.last_restart_seconds: float | None = None
        self.stats: dict[str, int] = {}

    def bind(self, controller: Any) -> None:
        """Give the plane the controller's error callback (errorConditions on death)."""
        self.on_error = controller.on_capture_error
        self.controller = controller

    def selected(self) -> set[str]:
        """Every interface the controller's selection holds now (it is about to ask for
        them one by one); empty when unbound or when the cluster cannot be read."""
        ctl = self.controller
        if ctl is None or not hasattr(ctl, "selected_interfaces"):
            return set()
        try:
            return set(ctl.selected_interfaces())
        except Exception as exc:     # selection is for batching only: never fail an add
            log.debug("selection for batching: %s", exc)
            return set()

    # -- engine_factory -------------------------------------------------------------------

    def load_rules(self, paths: Sequence[Path | str]) -> Loaded:
        from dpictl.rules import builtin_rules, load_rules

        started = time.monotonic()
        ruleset = load_rules([Path(p) for p in paths], self.variables) if paths \
            else builtin_rules(self.variables or None)
        rules = check_with_suricata(translate_ruleset(ruleset), self.binary.path,
                                    self.variables)
        for error in rules.errors[:20]:
            log.warning("rule not run by Suricata: %s", error)
        tmp = self.rules_path.with_suffix(".tmp")
        rules.write(tmp)
        tmp.replace(self.rules_path)
        source = self.source
        if source is not None:
            source.reload_rules()
        return Loaded(engine=EveEngine({r.key: r for r in rules.rules}),
                      paths=tuple(str(p) for p in paths), rules=rules.loaded,
                      errors=rules.failed, seconds=time.monotonic() - started)

    # -- capture_factory ------------------------------------------------------------------

    def __call__(self, ifaces: list[str], on_vanished: Any = None) -> "SuricataSource":
        return self.open_source(ifaces)

    def open_source(self, ifaces: list[str]) -> "SuricataSource":
        """A Suricata on `ifaces` - and on the rest of the selection, when that starts."""
        if self.failures:
            delay = min(2.0 ** (self.failures - 1), MAX_BACKOFF)
            log.info("restarting Suricata in %.0fs (failure %d)", delay, self.failures)
            time.sleep(delay)
        more = self.selected() - set(ifaces)
        try:
            source = SuricataSource(self, sorted(set(ifaces) | more))
        except RuntimeError:
            if not more:
                raise
            source = SuricataSource(self, ifaces)      # one of the others is the trouble
        self.source = source
        return source

    def snapshot(self) -> dict:
        source = self.source
        return {"engine": "suricata", "suricata": {
            "version": self.binary.version_text,
            "pid": source.process.pid if source and source.process else None,
            "interfaces": sorted(source.running) if source else [],
            "restarts": self.restarts, "failures": self.failures,
            "last_blind_seconds": self.last_blind_seconds,
            "last_restart_seconds": self.last_restart_seconds, "stats": dict(self.stats)}}


class SuricataSource:
    """The PacketSource the CaptureLoop reads: EVE records of one (re)started Suricata."""

    def __init__(self, plane: SuricataPlane, ifaces: list[str]) -> None:
        self.plane = plane
        self.lock = threading.RLock()
        self.fifo = make_fifo(plane.work_dir / "eve.fifo")
        self.follower = EveFollower(self.fifo)
        self.process: SuricataProcess | None = None
        self.running: set[str] = set()
        self.removed: dict[str, float] = {}       # interface -> when it was removed
        self._counts_lock = threading.Lock()      # _closed/_current (not held over restarts)
        self.stopping = False
        self.restarting = False
        self.generation = 0
        self.run_dir: Path | None = None
        self.started_at = 0.0
        self._closed: dict[str, dict[str, int]] = {}    # of Suricatas already stopped
        self._current: dict[str, dict[str, int]] = {}   # the running one's last record
        self._start(set(ifaces))

    def stats(self) -> dict[str, dict[str, int]]:
        """Per-interface kernel counters, as LivePacketSource promises (kernel_packets,
        kernel_drops, discarded, inspected), cumulative over the Suricatas this source ran:
        what the stopped ones counted (`_closed`) plus the running one's last stats record.
        The agent turns drops into errorConditions of the endpoint's resources."""
        with self._counts_lock:
            out: dict[str, dict[str, int]] = {}
            add_counts(out, self._closed)
            add_counts(out, self._current)
            return out

    def _take_stats(self, event: dict) -> None:
        """A stats record of the running Suricata (and not of one being replaced: while
        two overlap on a restart both write to the FIFO; the old one has been up longer
        than the new one exists)."""
        stats = SuricataStats(event)
        proc = self.process
        with self._counts_lock:
            # Suricata's uptime counts from its process start, before its rule load
            if proc is None or stats.uptime > time.monotonic() - proc.started_at + 1.5:
                return
            self._current = stats.interfaces()
        self.plane.stats = stats_from_eve(event) or {}

    def _fold(self, proc: SuricataProcess) -> None:
        """A stopped Suricata's final per-interface counts join the closed ones: those it
        logged on exit (exact), else its last stats record."""
        try:
            final = final_device_counts(
                (proc.settings.log_dir / "suricata.log").read_text(errors="replace"))
        except OSError:
            final = {}
        with self._counts_lock:
            current, self._current = self._current, {}
            for iface, counts in final.items():
                if iface in current:     # what its decoder really saw, not packets - drops
                    counts["inspected"] = current[iface].get("inspected", 0)
            add_counts(self._closed, final or current)

    # -- life cycle -----------------------------------------------------------------------

    def _settings(self, ifaces: set[str], run_dir: Path) -> SuricataSettings:
        # Alternate fanout groups: while an old and a new Suricata overlap during a restart,
        # each must get every packet, not half of them.
        base = 100 + 100 * (self.generation % 2)
        return SuricataSettings(log_dir=run_dir, rule_files=[self.plane.rules_path],
                                variables=self.plane.variables, interfaces=sorted(ifaces),
                                eve_path=self.fifo, unix_socket=run_dir / "suricata.socket",
                                cluster_id_base=base,
                                stats_interval=self.plane.stats_interval)

    def _start(self, ifaces: set[str]) -> None:
        """Start a Suricata on `ifaces` and wait until it captures; only then stop the one
        it replaces (make before break: the interfaces both watch are never blind)."""
        self.generation += 1
        run_dir = self.plane.work_dir / f"run-{self.generation % 2}"
        if run_dir.exists():
            shutil.rmtree(run_dir, ignore_errors=True)
        run_dir.mkdir(parents=True)
        log_file = run_dir / "suricata.log"
        proc = SuricataProcess(self.plane.binary.path, self._settings(ifaces, run_dir),
                               netns=self.plane.netns)
        proc.start()
        problem = proc.wait_started(START_TIMEOUT)
        if problem is not None:
            proc.stop()
            raise RuntimeError(f"Suricata did not start on {', '.join(sorted(ifaces))}: "
                               f"{problem}")
        old, self.process = self.process, proc
        self.run_dir = run_dir
        self.running = set(ifaces)
        self.started_at = capturing = time.monotonic()
        if old is not None:
            old_stops = time.monotonic()
            old.stop()
            self._fold(old)
            # blind = from the old capture ending to the new one capturing (never, here)
            self.plane.last_blind_seconds = round(max(0.0, capturing - old_stops), 3)
        log.info("Suricata %d capturing on %s", proc.pid, ", ".join(sorted(ifaces)))

    def _restart(self, ifaces: set[str]) -> None:
        """Move to a new interface set. Interfaces kept are watched throughout (the old
        Suricata runs until the new one captures); `last_blind_seconds` is how long they
        were not inspected - 0 unless Suricata had to be stopped first (nothing left)."""
        with self.lock:
            self.restarting = True
            try:
                started = time.monotonic()
                if ifaces:
                    self._start(ifaces)
                    self.plane.restarts += 1
                    self.plane.last_restart_seconds = round(time.monotonic() - started, 2)
                    log.info("Suricata moved to %d interface(s) in %.2fs, blind %.3fs",
                             len(ifaces), self.plane.last_restart_seconds,
                             self.plane.last_blind_seconds or 0.0)
                else:
                    if self.process is not None:
                        self.process.stop()
                        self._fold(self.process)
                    self.process = None
                    self.running = set()
            finally:
                self.restarting = False

    def add(self, iface: str) -> None:
        """Capture on `iface` too (a new Suricata, make before break), and on whatever else
        the selection holds by now, so the controller's next adds find theirs running."""
        with self.lock:
            self.removed.pop(iface, None)
            if iface in self.running:
                return
            wanted = self._wanted() | {iface}
            more = self.plane.selected() - wanted
            try:
                self._restart(wanted | more)
            except RuntimeError:
                if not more:
                    raise
                self._restart(wanted)               # one of the others is the trouble

    def remove(self, iface: str) -> None:
        with self.lock:
            if iface in self.running:
                self.removed[iface] = time.monotonic()

    def _wanted(self) -> set[str]:
        return self.running - set(self.removed)

    def _apply_removals(self) -> None:
        with self.lock:
            due = [i for i, at in self.removed.items()
                   if time.monotonic() - at >= REMOVE_DELAY]
            if not due:
                return
            for iface in due:
                self.removed.pop(iface)
            self._restart(self.running - set(due))

    def reload_rules(self) -> None:
        """New rules without a capture gap, through Suricata's unix socket."""
        sc = shutil.which("suricatasc")
        with self.lock:
            if self.process is None or self.process.poll() is not None or sc is None:
                return
            socket_path = (self.run_dir or self.plane.work_dir) / "suricata.socket"
            done = subprocess.run([sc, "-c", "reload-rules", str(socket_path)],
                                  capture_output=True, text=True, timeout=300)
            if done.returncode != 0 or "OK" not in done.stdout:
                log.warning("reload-rules failed (%s); restarting Suricata",
                            (done.stdout + done.stderr).strip()[:200])
                self._restart(set(self.running))

    # -- PacketSource ---------------------------------------------------------------------

    def __iter__(self) -> Iterator[tuple[float, Any, int, str | None]]:
        while not self.stopping:
            for event in self.follower.poll(0.5):
                if event.get("event_type") == "stats":
                    self._take_stats(event)
                    continue
                if event.get("event_type") == "alert":
                    yield (time.time(), event, LINKTYPE_EVE, event.get("in_iface"))
            self._apply_removals()
            with self.lock:
                proc = self.process
                died = (proc is not None and not self.restarting and not self.stopping
                        and proc.poll() is not None)
            if died:
                self._died(proc)

    def _died(self, proc: SuricataProcess) -> None:
        plane = self.plane
        lived = time.monotonic() - self.started_at
        plane.failures = plane.failures + 1 if lived < 60 else 1
        message = f"Suricata (pid {proc.pid}) exited: {proc.last_error()}"
        log.warning("%s", message)
        if plane.on_error is not None:
            for iface in sorted(self.running):
                plane.on_error(iface, message)
        self.process = None
        raise RuntimeError(message)     # the CaptureLoop reopens (and the plane backs off)

    def stop(self) -> None:
        self.stopping = True

    def close(self) -> None:
        self.stopping = True
        with self.lock:
            if self.process is not None:
                self.process.stop()
                self._fold(self.process)
                self.process = None
            self.running = set()
        self.follower.close()
        try:
            self.fifo.unlink()
        except OSError:
            pass
        if self.plane.source is self:
            self.plane.source = None


__all__ = ["SuricataPlane", "SuricataSource", "EveEngine", "LINKTYPE_EVE"]
