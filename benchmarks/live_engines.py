"""The engines the live benchmark measures, the replay that feeds them, and what they report.

Each engine is a child process started on the wire's capture end, waited for until it says
it is capturing, and stopped with SIGTERM once the replay is over; its counts come from the
last Suricata EVE `stats` event it wrote (its final one):

* `dpictl`:   `python -m dpictl inspect --interface IF --netns NS -o eve --no-store ...`;
* `suricata`: the oracle config plus the workers/af-packet block of
              shared/reference/live-benchmark.md, run inside the namespace;
* `capture`:  benchmarks/capture_only.py, dpictl's AF_PACKET ring with no engine behind it.

The parsers are plain functions of text so that they are tested without a network.
"""

from __future__ import annotations

import json
import os
import re
import signal
import subprocess
import sys
import time
from dataclasses import dataclass, field
from pathlib import Path
from typing import Iterable

HERE = Path(__file__).resolve().parent
REPO = HERE.parent


class BenchError(Exception):
    """A run could not be measured (an engine died, a tool failed); the message says why."""


# -- what the tools print -------------------------------------------------------------------
@dataclass(frozen=True)
class Replay:
    """tcpreplay's own account of one replay."""

    sent: int                   # "Actual: N packets"
    seconds: float
    pps: float                  # the rate achieved ("Rated: ... pps"), not the one asked
    failed: int = 0             # "Failed packets:" (e.g. a frame larger than the MTU)


_ACTUAL = re.compile(r"Actual:\s+(\d+)\s+packets\s+\((\d+)\s+bytes\)\s+sent in\s+([\d.]+)\s+sec")
_RATED = re.compile(r"Rated:.*?([\d.]+)\s+pps")
_FAILED = re.compile(r"Failed packets:\s+(\d+)")


def parse_tcpreplay(text: str) -> Replay:
    """Replay from tcpreplay's summary; BenchError when it has no "Actual:" line."""
    actual = _ACTUAL.search(text)
    if actual is None:
        raise BenchError("tcpreplay printed no 'Actual: N packets' line: "
                         + (text.strip().splitlines() or ["(no output)"])[-1])
    rated, failed = _RATED.search(text), _FAILED.search(text)
    return Replay(sent=int(actual.group(1)), seconds=float(actual.group(3)),
                  pps=float(rated.group(1)) if rated else 0.0,
                  failed=int(failed.group(1)) if failed else 0)


def eve_events(lines: Iterable[str]) -> Iterable[dict]:
    """The JSON objects among `lines`, skipping anything else an engine printed."""
    for line in lines:
        line = line.strip()
        if line.startswith("{"):
            try:
                event = json.loads(line)
            except ValueError:
                continue
            if isinstance(event, dict):
                yield event


@dataclass
class EngineCounts:
    """What an engine says it saw: Suricata's stats names, None where it did not say."""

    captured: int | None = None         # capture.kernel_packets (drops included)
    dropped: int | None = None          # capture.kernel_drops
    discarded: int = 0                  # capture.discarded (dpictl: read, not inspected)
    decoded: int | None = None          # decoder.pkts
    alerts: int | None = None           # detect.alert, else the alert events counted
    alert_events: int = 0               # `"event_type": "alert"` lines written
    worst_us: float | None = None       # dpictl.worst_packet_us
    workers: int | None = None          # dpictl.workers
    source: str = "none"                # where the counts came from
    notes: list[str] = field(default_factory=list)


def counts_from_eve(lines: Iterable[str]) -> EngineCounts:
    """Counts from an EVE stream: the LAST stats event (the one written at exit) and the
    number of alert events. With no stats event, only the alerts are known."""
    final: dict | None = None
    alert_events = 0
    for event in eve_events(lines):
        kind = event.get("event_type")
        if kind == "alert":
            alert_events += 1
        elif kind == "stats" and isinstance(event.get("stats"), dict):
            final = event["stats"]
    counts = EngineCounts(alert_events=alert_events, alerts=alert_events)
    if final is None:
        counts.notes.append("no stats event in the EVE output")
        return counts
    capture, decoder = final.get("capture", {}), final.get("decoder", {})
    detect, ours = final.get("detect", {}), final.get("dpictl", {})
    counts.source = "eve stats"
    counts.captured = _int(capture.get("kernel_packets"))
    counts.dropped = _int(capture.get("kernel_drops"))
    counts.discarded = _int(capture.get("discarded")) or 0
    counts.decoded = _int(decoder.get("pkts"))
    if "alert" in detect:
        counts.alerts = _int(detect["alert"])
    if isinstance(ours.get("worst_packet_us"), (int, float)):   # None: not timed (Suricata)
        counts.worst_us = float(ours["worst_packet_us"])
    counts.workers = _int(ours.get("workers"))
    return counts


def _int(value: object) -> int | None:
    return int(value) if isinstance(value, (int, float)) else None


_SHUTDOWN = re.compile(r"(\S+): packets: (\d+), drops: (\d+)")


def parse_suricata_shutdown(text: str, iface: str) -> tuple[int, int] | None:
    """(packets, drops) from Suricata's `IFACE: packets: N, drops: D (x%)` exit line."""
    found = None
    for match in _SHUTDOWN.finditer(text):
        if match.group(1) == iface:
            found = (int(match.group(2)), int(match.group(3)))
    return found


# -- the replay -----------------------------------------------------------------------------
def tcpreplay_command(iface: str, pcap: Path, rate: int, loops: int = 1,
                      limit: int | None = None) -> list[str]:
    """The replay of shared/reference/live-benchmark.md: preloaded, at a fixed pps; each
    loop past the first gets new IP addresses (--unique-ip), so it makes new flows rather
    than repeating sequence numbers on the old ones."""
    cmd = ["tcpreplay", "-i", iface, f"--pps={rate}", "--preload-pcap"]
    if loops > 1:
        cmd += [f"--loop={loops}", "--unique-ip"]
    if limit:
        cmd.append(f"--limit={limit}")
    return [*cmd, str(pcap)]


def replay(iface: str, pcap: Path, rate: int, loops: int = 1,
           limit: int | None = None) -> Replay:
    with Child(tcpreplay_command(iface, pcap, rate, loops, limit)) as proc:
        out, _ = proc.popen.communicate()
    if proc.popen.returncode != 0:
        raise BenchError(f"tcpreplay failed ({proc.popen.returncode}): "
                         + (out.strip().splitlines() or ["(no output)"])[-1])
    return parse_tcpreplay(out)


# -- child processes ------------------------------------------------------------------------
class Child:
    """A child process in its own session, so that a Ctrl-C at the terminal reaches the
    benchmark alone, which then stops its children in order; always reaped on exit."""

    def __init__(self, cmd: list[str], *, stdout: Path | None = None,
                 stderr: Path | None = None, cwd: Path | None = None,
                 env: dict[str, str] | None = None) -> None:
        out = open(stdout, "w") if stdout else subprocess.PIPE
        err = open(stderr, "w") if stderr else subprocess.STDOUT
        try:
            self.popen = subprocess.Popen(cmd, stdout=out, stderr=err, cwd=cwd, env=env,
                                          text=True, start_new_session=True)
        finally:
            for fh in (out, err):
                if hasattr(fh, "close"):
                    fh.close()

    def __enter__(self) -> "Child":
        return self

    def __exit__(self, *exc: object) -> None:
        self.kill()

    def terminate(self, timeout: float) -> bool:
        """SIGTERM, then wait up to `timeout` s; False (and SIGKILL) if it did not exit."""
        if self.popen.poll() is not None:
            return True
        self.popen.send_signal(signal.SIGTERM)
        try:
            self.popen.wait(timeout)
            return True
        except subprocess.TimeoutExpired:
            self.kill()
            return False

    def kill(self) -> None:
        if self.popen.poll() is None:
            try:
                os.killpg(self.popen.pid, signal.SIGKILL)   # the session is its own group
            except ProcessLookupError:
                pass
        try:
            self.popen.wait(10)
        except subprocess.TimeoutExpired:
            pass


# -- the engines ----------------------------------------------------------------------------
@dataclass(frozen=True)
class EngineOptions:
    rules: Path
    workers: int | None = None          # dpictl --workers (None: dpictl's default)
    stats_interval: float | None = None
    ring_size: int | None = None        # dpictl --ring-size / capture_only --ring-size, MiB
    suricata_yaml: Path | None = None   # the oracle config to extend
    engine: str | None = None           # dpictl inspect --engine (python or suricata)


class EngineRun:
    """One engine on one wire: `start`, `wait_ready`, (replay), `stop` -> EngineCounts."""

    name = "engine"
    ready_marker = ""                   # text in its log that says it captures now
    output_is_log = False               # its stdout is a log too (merged into log_path)

    def __init__(self, netns: str, iface: str, workdir: Path, options: EngineOptions) -> None:
        self.netns, self.iface, self.workdir, self.options = netns, iface, workdir, options
        self.stdout_path = workdir / f"{self.name}.out"
        self.log_path = workdir / f"{self.name}.log"
        self.child: Child | None = None

    def command(self) -> list[str]:
        raise NotImplementedError

    def cwd(self) -> Path | None:
        return None

    def start(self) -> None:
        env = dict(os.environ, COLUMNS="200")
        # Our checkout's dpictl, whether or not the caller exported PYTHONPATH.
        env["PYTHONPATH"] = os.pathsep.join(filter(None, [str(REPO), env.get("PYTHONPATH")]))
        if self.output_is_log:
            self.child = Child(self.command(), stdout=self.log_path, cwd=self.cwd(), env=env)
        else:
            self.child = Child(self.command(), stdout=self.stdout_path, stderr=self.log_path,
                               cwd=self.cwd(), env=env)

    def wait_ready(self, timeout: float) -> float:
        """Seconds until the engine said it captures; BenchError if it died or took longer
        than `timeout`."""
        assert self.child is not None
        start = time.monotonic()
        while time.monotonic() - start < timeout:
            if self.ready_marker in self._log().lower():
                return time.monotonic() - start
            if self.child.popen.poll() is not None:
                raise BenchError(f"{self.name} exited ({self.child.popen.returncode}) before "
                                 f"capturing: {self._log_tail()}")
            time.sleep(0.1)
        raise BenchError(f"{self.name} was not capturing after {timeout:.0f} s: "
                         f"{self._log_tail()}")

    def stop(self, timeout: float) -> EngineCounts:
        """SIGTERM (how both engines are meant to be stopped), then read the counts."""
        assert self.child is not None
        early = self.child.popen.poll()
        if early is not None:
            raise BenchError(f"{self.name} exited ({early}) during the replay: "
                             f"{self._log_tail()}")
        if not self.child.terminate(timeout):
            raise BenchError(f"{self.name} did not exit within {timeout:.0f} s of SIGTERM")
        counts = self.counts()
        if self.child.popen.returncode != 0:
            counts.notes.append(f"{self.name} exited {self.child.popen.returncode} on SIGTERM: "
                                f"{self._log_tail()}")
        return counts

    def kill(self) -> None:
        if self.child is not None:
            self.child.kill()

    def counts(self) -> EngineCounts:
        return counts_from_eve(_lines(self.stdout_path))

    def _log(self) -> str:
        try:
            return self.log_path.read_text(errors="replace")
        except FileNotFoundError:
            return ""

    def _log_tail(self) -> str:
        lines = [line.strip() for line in self._log().splitlines() if line.strip()]
        if not lines:
            return "(it printed nothing)"
        return lines[-1] if len(lines[-1]) <= 200 else lines[-1][:200] + "..."


class DpictlRun(EngineRun):
    name = "dpictl"
    ready_marker = "capturing on"

    def command(self) -> list[str]:
        o = self.options
        cmd = [sys.executable, "-m", "dpictl", "inspect", "--interface", self.iface,
               "--netns", self.netns, "-o", "eve", "--no-store", "--rules", str(o.rules)]
        if o.workers is not None:
            cmd += ["--workers", str(o.workers)]
        if o.stats_interval is not None:
            cmd += ["--stats-interval", f"{o.stats_interval:g}"]
        if o.ring_size is not None:
            cmd += ["--ring-size", str(o.ring_size)]
        if o.engine is not None:
            cmd += ["--engine", o.engine]
        return cmd


class CaptureOnlyRun(EngineRun):
    name = "capture"
    ready_marker = "capturing on"

    def command(self) -> list[str]:
        cmd = [sys.executable, str(HERE / "capture_only.py"), self.iface, "--netns", self.netns]
        if self.options.ring_size is not None:
            cmd += ["--ring-size", str(self.options.ring_size)]
        return cmd

    def counts(self) -> EngineCounts:
        counts = super().counts()
        counts.alerts = None                        # no engine, so no alerts to speak of
        return counts


class SuricataRun(EngineRun):
    name = "suricata"
    ready_marker = "engine started"     # "Threads created -> W: 1 FM: 1 FR: 1   Engine started."
    output_is_log = True                # its console log goes to stdout, errors to stderr

    @property
    def outdir(self) -> Path:
        return self.workdir / "suricata-out"

    def config(self) -> str:
        """The oracle config plus live-benchmark.md's block: one worker on AF_PACKET v3 with
        a flow-hashed fanout; stats (with totals) every interval and at exit."""
        assert self.options.suricata_yaml is not None
        base = self.options.suricata_yaml.read_text()
        interval = self.options.stats_interval or 8
        return (base.rstrip() + "\n\n# added by benchmarks/bench_live.py\n"
                "runmode: workers\n"
                f"stats:\n  enabled: yes\n  interval: {max(1, round(interval))}\n"
                "af-packet:\n"
                f"  - interface: {self.iface}\n"
                "    threads: 1\n    cluster-id: 99\n    cluster-type: cluster_flow\n"
                "    defrag: yes\n    tpacket-v3: yes\n")

    def command(self) -> list[str]:
        yaml = self.workdir / "suricata.yaml"
        yaml.write_text(self.config())
        self.outdir.mkdir(parents=True, exist_ok=True)
        return ["ip", "netns", "exec", self.netns, "suricata", "-c", str(yaml),
                "-S", str(self.options.rules), f"--af-packet={self.iface}",
                "-l", str(self.outdir), "-k", "none"]

    def cwd(self) -> Path | None:
        # The oracle config names shared/rules/... relative to the directory above shared/.
        assert self.options.suricata_yaml is not None
        return self.options.suricata_yaml.resolve().parents[2]

    def counts(self) -> EngineCounts:
        counts = counts_from_eve(_lines(self.outdir / "eve.json"))
        if counts.captured is None:
            shutdown = parse_suricata_shutdown(self._log(), self.iface)
            if shutdown is not None:
                counts.captured, counts.dropped = shutdown
                counts.source = "shutdown line"
        return counts


ENGINES: dict[str, type[EngineRun]] = {
    "dpictl": DpictlRun, "suricata": SuricataRun, "capture": CaptureOnlyRun}


def _lines(path: Path) -> list[str]:
    try:
        return path.read_text(errors="replace").splitlines()
    except FileNotFoundError:
        return []


__all__ = ["BenchError", "Replay", "EngineCounts", "EngineOptions", "EngineRun", "ENGINES",
           "Child", "parse_tcpreplay", "counts_from_eve", "parse_suricata_shutdown",
           "tcpreplay_command", "replay"]
