"""`dpictl inspect --engine suricata`: Suricata does the packet work, dpictl everything else.

One `SuricataSession` prepares the rules (load with dpictl's parser, translate, let
`suricata -T` weed out what it rejects), then runs Suricata over pcaps (`-r`, one process
per file, as the oracle does) or live interfaces (AF_PACKET, workers, cluster_flow, EVE to a
FIFO). Every EVE alert becomes a Detection and goes through the same builder and store as the
Python engine's, so `alerts list`, `-o eve` and `-o json` cannot tell the engines apart. Live,
EVE stats records are handed to `on_stats` as `SuricataStats` (the Python live engine's
counters and event shape) every `stats_interval`; on a stop dpictl first lets Suricata
finish what its ring holds, and the last record, which Suricata writes once its capture
threads have stopped, is exact: kept for the summary and always handed on.
"""

from __future__ import annotations

import shutil
import signal
import tempfile
import time
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any, Callable

from dpictl.alerts.builder import alert_from_detection
from dpictl.alerts.record import Alert
from dpictl.errors import InputError
from dpictl.rules import RuleLoadError, RuleSet
from dpictl.rules.ast import Rule
from dpictl.suricata.binary import SuricataBinary
from dpictl.suricata.config import SuricataSettings
from dpictl.suricata.eve_reader import (EveFollower, detection_from_eve, follow_batches,
                                        make_fifo, read_file, stats_from_eve)
from dpictl.suricata.process import (START_TIMEOUT, SuricataFailed, SuricataProcess,
                                     check_log_dir)
from dpictl.suricata.rulefile import SuricataRules, check_with_suricata, translate_ruleset
from dpictl.suricata.stats import SuricataStats

AlertSink = Callable[[list[Alert]], None]
DRAIN_SECONDS = 30.0          # a stopping live run waits this long, at most, for the ring
StatsSink = Callable[[SuricataStats], None]


@dataclass
class SessionCounts:
    """The summary of one run, in the Python engine's terms plus Suricata's own counters."""

    packets: int = 0
    bytes: int = 0
    alerts: int = 0
    stats: dict[str, int] = field(default_factory=dict)
    started: float = field(default_factory=time.monotonic)

    @property
    def elapsed(self) -> float:
        return time.monotonic() - self.started


class SuricataSession:
    """Rules prepared once; `run_pcaps` or `run_live` then feed alerts to `sink`/`store`."""

    def __init__(self, binary: SuricataBinary, ruleset: RuleSet, variables: dict[str, str],
                 sink: AlertSink, store: Any = None, *, log_dir: Path | None = None) -> None:
        self.binary = binary
        self.variables = variables
        self.sink = sink
        self.store = store
        self._own_dir = log_dir is None
        self.log_dir = Path(log_dir or tempfile.mkdtemp(prefix="dpictl-suricata-"))
        check_log_dir(self.log_dir)
        self.rules: SuricataRules = check_with_suricata(
            translate_ruleset(ruleset), binary.path, variables)
        if not self.rules.lines:
            first = self.rules.errors[0] if self.rules.errors else "no rules"
            raise InputError(f"Suricata can run none of the rules (first: {first})")
        self.rules_path = self.rules.write(self.log_dir / "dpictl.rules")
        self.by_key: dict[tuple[int, int], Rule] = {r.key: r for r in self.rules.rules}
        self.counts = SessionCounts()
        self.live_stats: SuricataStats | None = None     # the last live stats record
        self._emit_every, self._last_emit = 8.0, 0.0
        self._emitted: SuricataStats | None = None
        self.on_stats: StatsSink = lambda stats: None

    @property
    def errors(self) -> list[RuleLoadError]:
        return self.rules.errors

    def _settings(self, log_dir: Path, **kw: Any) -> SuricataSettings:
        return SuricataSettings(log_dir=log_dir, rule_files=[self.rules_path],
                                variables=self.variables, **kw)

    def run_pcaps(self, pcaps: list[Path]) -> None:
        for i, pcap in enumerate(pcaps):
            run_dir = self.log_dir / f"pcap-{i}"
            run_dir.mkdir(exist_ok=True)
            settings = self._settings(run_dir)
            proc = SuricataProcess(self.binary.path, settings, pcap=pcap)
            proc.start()
            try:
                code = proc.wait()
            except KeyboardInterrupt:
                proc.stop()
                raise
            if code != 0:
                raise SuricataFailed(f"Suricata failed on {pcap}: {proc.last_error()}")
            self._consume(read_file(run_dir / "eve.json"), add_stats=True)

    def run_live(self, interfaces: list[str], *, netns: str | None = None,
                 on_started: Callable[[], None] | None = None,
                 stats_interval: float = 8.0) -> None:
        """Capture until Ctrl-C/SIGTERM or until Suricata exits (an error if it failed)."""
        fifo = make_fifo(self.log_dir / "eve.fifo")
        # Suricata reports every second (how the drain at the end sees its ring empty);
        # dpictl re-emits every `stats_interval` seconds, and the last record always
        self._emit_every, self._last_emit, self._emitted = stats_interval, 0.0, None
        settings = self._settings(self.log_dir, interfaces=interfaces, eve_path=fifo,
                                  stats_interval=1)
        proc = SuricataProcess(self.binary.path, settings, netns=netns)
        interrupted = False
        previous = signal.signal(signal.SIGTERM, _raise_interrupt)
        follower = EveFollower(fifo)
        try:
            proc.start()
            # announce capture only once Suricata really captures (its rule load can take
            # many seconds): traffic sent before that would go uninspected, unannounced
            problem = proc.wait_started(START_TIMEOUT)
            if problem is not None:
                raise SuricataFailed(problem)
            if on_started:
                on_started()
            try:
                self._consume_live(follow_batches(follower, lambda: proc.poll() is None))
            except KeyboardInterrupt:
                interrupted = True
                try:
                    self._consume_live(self._until_drained(follower, proc))
                except KeyboardInterrupt:
                    pass                    # a second Ctrl-C: stop now, queued or not
            signal.signal(signal.SIGTERM, signal.SIG_IGN)
            proc.terminate()
            # Suricata writes its last alerts and stats as it exits: read them too.
            self._consume_live(follow_batches(follower, lambda: proc.poll() is None))
            if self.live_stats is not None and self.live_stats is not self._emitted:
                self.on_stats(self.live_stats)          # the exact, final one
        finally:
            signal.signal(signal.SIGTERM, previous)
            proc.stop()
            follower.close()
        code = proc.poll()
        if not interrupted and code not in (0, None, -signal.SIGTERM):
            raise SuricataFailed(f"Suricata exited with status {code}: {proc.last_error()}")

    def _consume_live(self, batches: Any) -> None:
        """Live: the alerts of each read are stored and shown together, at once (one
        transaction per read, not per alert: at 66k alerts the per-alert commits made dpictl
        the slowest reader of the FIFO, and Suricata dropped 18% of 2.1 M packets at 200k
        pps while blocked on it)."""
        for batch in batches:
            self._consume(batch, add_stats=False)

    def _consume(self, records: Any, *, add_stats: bool) -> None:
        batch: list = []
        try:
            for event in records:
                det = detection_from_eve(event, self.by_key)
                if det is not None:
                    batch.append(det)
                    if len(batch) >= 1024:
                        self._emit(batch)
                        batch = []
                    continue
                stats = stats_from_eve(event)
                if stats is not None:
                    self._take_stats(stats, add_stats)
                    if not add_stats:
                        self._take_live_stats(SuricataStats(event))
        finally:
            self._emit(batch)     # also when Ctrl-C ends the run: nothing read is lost

    def _take_live_stats(self, stats: SuricataStats) -> None:
        self.live_stats = stats
        now = time.monotonic()
        if now - self._last_emit >= self._emit_every:
            self._last_emit, self._emitted = now, stats
            self.on_stats(stats)

    def _until_drained(self, follower: EveFollower, proc: SuricataProcess) -> Any:
        """EVE records after a stop was asked, until Suricata has caught up with its ring:
        a stats record in which inspected + dropped covers every packet the kernel queued.
        Suricata discards what its ring still holds when it exits, so stopping at once
        would leave those packets neither inspected nor counted as dropped. At most
        DRAIN_SECONDS (traffic that never stops never lets the ring empty)."""
        deadline = time.monotonic() + DRAIN_SECONDS
        while time.monotonic() < deadline and proc.poll() is None:
            batch = follower.poll(0.2)
            for at, event in enumerate(batch):
                stats = SuricataStats.from_eve(event)
                if stats is not None and \
                        stats.decoded + stats.kernel_drops >= stats.kernel_packets:
                    yield batch[:at + 1]
                    return
            if batch:
                yield batch

    def _take_stats(self, stats: dict[str, int], add: bool) -> None:
        """pcap runs: one process per file, so counters add up; live: the latest wins."""
        if add:
            for key, value in stats.items():
                self.counts.stats[key] = self.counts.stats.get(key, 0) + value
        else:
            self.counts.stats = stats
        self.counts.packets = self.counts.stats.get("decoder.pkts", 0)
        self.counts.bytes = self.counts.stats.get("decoder.bytes", 0)

    def _emit(self, detections: list) -> None:
        if not detections:
            return
        alerts = [alert_from_detection(d) for d in detections]
        if self.store is not None:
            alerts = self.store.add(alerts)
        self.counts.alerts += len(alerts)
        self.sink(alerts)

    def close(self) -> None:
        if self._own_dir:
            shutil.rmtree(self.log_dir, ignore_errors=True)


def _raise_interrupt(signum: int, frame: object) -> None:
    raise KeyboardInterrupt


__all__ = ["SuricataSession", "SessionCounts", "StatsSink"]
