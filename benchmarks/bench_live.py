"""Live inspection under replayed traffic: what each engine captured, dropped and decoded.

The method of shared/reference/live-benchmark.md, scripted: a veth whose capture end sits in
its own network namespace (benchmarks/live_wire.py), the bench pcap of bench_engine.py (or
any --pcap) replayed into it with `tcpreplay --pps=RATE --preload-pcap`, and each engine
(benchmarks/live_engines.py) capturing the other end, stopped with SIGTERM after the replay
and read from its final EVE stats event:

* dpictl   (`dpictl inspect --interface ... -o eve`),
* suricata (when installed, one worker, AF_PACKET v3),
* capture  (`--engine-less`: dpictl's AF_PACKET ring with no engine behind it).

Either one rate (`--rate`), or `--find-max`: step the rate up (each rate `--repeat` times)
until a run drops, and report the highest rate at which every run lost nothing. Every run
also checks that nothing died before AF_PACKET (softnet_stat's drop column, the veth's
dropped counters). Needs root, tcpreplay, and capinfos/editcap/mergecap to build the pcap
(`scripts/setup.sh --bench`). This is a measurement script, not a test:

    .venv/bin/python benchmarks/bench_live.py --rate 20k
    .venv/bin/python benchmarks/bench_live.py --find-max --repeat 2 --engines dpictl,suricata
    .venv/bin/python benchmarks/bench_live.py --engine-less --rate 100k --json
    .venv/bin/python benchmarks/bench_live.py --rate 200k --engines dpictl --engine suricata

`--engine suricata` runs dpictl with Suricata as its data plane (`dpictl inspect --engine
suricata`), read from the stats events dpictl re-emits.
"""

from __future__ import annotations

import argparse
import json
import math
import os
import shutil
import signal
import sys
import tempfile
import time
from dataclasses import asdict, dataclass, field
from pathlib import Path
from typing import Callable

HERE = Path(__file__).resolve().parent
sys.path.insert(0, str(HERE))

from bench_engine import SHARED, build_bench_pcap, pcap_size  # noqa: E402
from live_engines import (ENGINES, BenchError, EngineCounts, EngineOptions,  # noqa: E402
                          replay)
from live_wire import Wire  # noqa: E402

RULES = SHARED / "rules" / "snort2-community-all-enabled.rules"
SURICATA_YAML = SHARED / "oracle" / "suricata.yaml"
DEFAULT_RATES = "5k,10k,20k,50k,100k,150k,200k,250k,300k"
# A run counts at the rate asked only if tcpreplay achieved this share of it.
RATE_REACHED = 0.95


@dataclass
class RunResult:
    """One engine, one replay at one rate."""

    engine: str
    rate: int
    attempt: int
    loops: int = 1
    netns: str | None = None
    sent: int | None = None
    sent_pps: float | None = None
    send_failed: int = 0                # packets tcpreplay could not send (e.g. over the MTU)
    counts: EngineCounts = field(default_factory=EngineCounts)
    lost_before_capture: dict[str, int] = field(default_factory=dict)
    ready_s: float | None = None
    error: str | None = None

    @property
    def drop_percent(self) -> float | None:
        c = self.counts
        if c.captured is None or c.dropped is None:
            return None
        return 100.0 * c.dropped / c.captured if c.captured else 0.0

    @property
    def lost(self) -> int | None:
        """Packets sent that the engine never decoded, wherever they went missing."""
        if self.sent is None or self.counts.decoded is None:
            return None
        return max(0, self.sent - self.counts.decoded)

    @property
    def clean(self) -> bool | None:
        """Nothing dropped and everything sent decoded (None: the engine did not say)."""
        if self.error is not None:
            return False
        if self.counts.dropped is None or self.lost is None:
            return None
        return self.counts.dropped == 0 and self.lost == 0

    @property
    def rate_reached(self) -> bool:
        """tcpreplay sent at (nearly) the rate asked; on a busy machine it may not."""
        return self.sent_pps is not None and self.sent_pps >= RATE_REACHED * self.rate

    def warnings(self) -> list[str]:
        out = list(self.counts.notes)
        c = self.counts
        if self.send_failed:
            out.append(f"tcpreplay could not send {self.send_failed} packets")
        if self.sent_pps is not None and not self.rate_reached:
            out.append(f"tcpreplay reached only {self.sent_pps:.0f} pps")
        if self.lost_before_capture:
            out.append("lost before AF_PACKET: " + ", ".join(
                f"{name} +{delta}" for name, delta in self.lost_before_capture.items()))
        if None not in (c.captured, c.dropped, c.decoded):
            expected = c.captured - c.dropped - c.discarded          # type: ignore[operator]
            if c.decoded != expected:
                out.append(f"counts do not add up: decoded {c.decoded} != kernel_packets "
                           f"{c.captured} - drops {c.dropped} - discarded {c.discarded}")
        if self.sent is not None and c.captured is not None and c.captured < self.sent:
            out.append(f"the kernel gave the socket {c.captured} of {self.sent} sent")
        if c.alerts is not None and c.alert_events and c.alerts != c.alert_events:
            out.append(f"stats say {c.alerts} alerts, {c.alert_events} alert events written")
        return out

    def to_json(self) -> dict:
        data = asdict(self)
        data.update(drop_percent=self.drop_percent, lost=self.lost, clean=self.clean,
                    warnings=self.warnings())
        return data


@dataclass(frozen=True)
class Plan:
    """How each run is made: what is replayed, how long, and the engines' options."""

    pcap: Path
    pcap_packets: int
    engine_options: EngineOptions
    loops: int = 1
    min_seconds: float = 0.0
    limit: int | None = None
    ready_timeout: float = 300.0
    settle: float = 1.0
    tail: float = 2.0
    stop_timeout: float = 120.0
    keep: Path | None = None
    wire_prefix: str = "lb"

    def loops_for(self, rate: int) -> int:
        """--loop, raised so that the replay lasts at least --min-seconds at `rate`."""
        packets = self.limit or self.pcap_packets
        if self.min_seconds <= 0 or packets <= 0 or self.limit:
            return self.loops
        return max(self.loops, math.ceil(self.min_seconds * rate / packets))


def run_once(engine: str, rate: int, attempt: int, plan: Plan, scratch: Path,
             say: Callable[[str], None]) -> RunResult:
    """A fresh wire, the engine started on it, one replay, the engine stopped and read."""
    result = RunResult(engine=engine, rate=rate, attempt=attempt, loops=plan.loops_for(rate))
    workdir = Path(tempfile.mkdtemp(prefix=f"{engine}-{rate}-", dir=scratch))
    try:
        with Wire(plan.wire_prefix) as wire:
            result.netns = wire.netns
            say(f"  {engine} @ {_k(rate)} #{attempt}: wire {wire.send_iface} -> "
                f"{wire.capture_iface} in netns {wire.netns}")
            run = ENGINES[engine](wire.netns, wire.capture_iface, workdir, plan.engine_options)
            try:
                run.start()
                result.ready_s = run.wait_ready(plan.ready_timeout)
                time.sleep(plan.settle)
                before = wire.loss_counters()
                sent = replay(wire.send_iface, plan.pcap, rate, result.loops, plan.limit)
                time.sleep(plan.tail)
                result.lost_before_capture = wire.loss_counters().moved_since(before)
                result.sent, result.sent_pps, result.send_failed = sent.sent, sent.pps, sent.failed
                result.counts = run.stop(plan.stop_timeout)
            finally:
                run.kill()
    except BenchError as exc:
        result.error = str(exc)
    finally:
        if plan.keep is not None:
            say(f"  files of this run kept in {workdir}")
        else:
            shutil.rmtree(workdir, ignore_errors=True)
    return result


def find_max(engine: str, rates: list[int], repeat: int, refine: int, plan: Plan,
             scratch: Path, say: Callable[[str], None],
             runner: Callable[..., RunResult] = run_once) -> tuple[list[RunResult], dict]:
    """Step the rate up until a run is not clean; then bisect `refine` times between the
    last clean rate and the first that was not. The zero-drop rate is the highest rate at
    which all `repeat` runs were clean, at the rate asked: a clean run that tcpreplay could
    not send fast enough proves nothing about that rate, so the stepping stops there."""
    results: list[RunResult] = []
    best: int | None = None
    first_bad: int | None = None
    summary: dict = {}

    def verdict_at(rate: int) -> str:
        """'clean', 'lost', 'unknown' (the engine gave no drop count) or 'slow' (clean, but
        the sender fell short of the rate)."""
        slow = False
        for attempt in range(1, repeat + 1):
            res = runner(engine, rate, attempt, plan, scratch, say)
            results.append(res)
            say(_progress(res))
            if res.clean is None:
                return "unknown"
            if not res.clean:
                return "lost"
            if not res.rate_reached:
                summary["sender_limited"] = (f"tcpreplay sent {res.sent_pps:.0f} pps when "
                                             f"{rate} was asked; no drops up to there")
                slow = True
        return "slow" if slow else "clean"

    def bracket(rate: int) -> bool:
        """Move the bracket with the verdict at `rate`; False when stepping must stop."""
        nonlocal best, first_bad
        verdict = verdict_at(rate)
        if verdict == "unknown":
            summary["note"] = f"{engine} did not report drops; cannot step the rate"
        elif verdict == "lost":
            first_bad = rate
        elif verdict == "clean":
            best = rate
            return True
        return False

    for rate in rates:
        if not bracket(rate):
            break
    for _ in range(refine):
        if best is None or first_bad is None or {"sender_limited", "note"} & set(summary):
            break
        middle = _round_rate((best + first_bad) // 2)
        if middle in (best, first_bad):
            break
        bracket(middle)
    summary.update(zero_drop_rate=best, first_rate_that_lost=first_bad)
    return results, summary


def _round_rate(rate: int) -> int:
    step = 1000 if rate >= 10_000 else 100
    return max(step, rate // step * step)


def parse_rate(text: str) -> int:
    """'20k' -> 20000, '1.5m' -> 1500000, '7500' -> 7500."""
    text = text.strip().lower().removesuffix("pps")
    scale = {"k": 1_000, "m": 1_000_000}.get(text[-1:], 1)
    number = text[:-1] if scale > 1 else text
    try:
        rate = int(float(number) * scale)
    except ValueError:
        raise argparse.ArgumentTypeError(f"not a rate: {text!r} (e.g. 5000, 20k)") from None
    if rate <= 0:
        raise argparse.ArgumentTypeError(f"rate must be positive: {text!r}")
    return rate


def parse_rates(text: str) -> list[int]:
    rates = sorted({parse_rate(part) for part in text.split(",") if part.strip()})
    if not rates:
        raise argparse.ArgumentTypeError("no rates given")
    return rates


def parse_engines(text: str) -> list[str]:
    names = [n.strip() for n in text.split(",") if n.strip()]
    unknown = [n for n in names if n not in ENGINES]
    if unknown or not names:
        raise argparse.ArgumentTypeError(
            f"unknown engine {', '.join(unknown) or '(none)'}; choose from "
            + ", ".join(ENGINES))
    return names


def _progress(res: RunResult) -> str:
    c = res.counts
    if res.error:
        return f"  {res.engine} @ {_k(res.rate)} #{res.attempt}: failed: {res.error}"
    pct = res.drop_percent
    drops = "?" if c.dropped is None else f"{c.dropped} ({pct:.2f}%)"
    warnings = "".join(f"\n    warning: {w}" for w in res.warnings())
    return (f"  {res.engine} @ {_k(res.rate)} #{res.attempt}: sent {res.sent}, captured "
            f"{c.captured}, dropped {drops}, decoded {c.decoded}, lost {res.lost}{warnings}")


def _k(rate: int | None) -> str:
    if rate is None:
        return "-"
    return f"{rate / 1000:g}k" if rate >= 1000 else str(rate)


def render(results: list[RunResult], summaries: dict[str, dict], plan: Plan) -> None:
    from rich.console import Console
    from rich.table import Table

    # A pipe or a file gets the whole table, not one squeezed to 80 columns.
    console = Console(width=None if sys.stdout.isatty() else 200)
    table = Table(title=f"live replay of {plan.pcap.name} ({plan.pcap_packets} packets"
                  f"{', limit ' + str(plan.limit) if plan.limit else ''})")
    for name in ("engine", "asked pps", "sent pps", "sent", "captured", "dropped", "drop %",
                 "decoded", "lost", "alerts", "worst pkt"):
        table.add_column(name, justify="left" if name == "engine" else "right")
    table.add_column("notes", overflow="fold")

    def num(value: object) -> str:
        return "-" if value is None else str(value)

    for r in results:
        c = r.counts
        pct = r.drop_percent
        worst = "-" if c.worst_us is None else f"{c.worst_us / 1000:.1f} ms"
        style = None if r.clean is None else ("green" if r.clean else "red")
        notes = [r.error] if r.error else r.warnings()
        loops = f" x{r.loops}" if r.loops > 1 else ""
        engine = r.engine + (f" ({c.workers}w)" if c.workers and c.workers > 1 else "")
        table.add_row(engine, _k(r.rate) + loops, num(r.sent_pps and round(r.sent_pps)),
                      num(r.sent), num(c.captured), num(c.dropped),
                      "-" if pct is None else f"{pct:.2f}", num(c.decoded), num(r.lost),
                      num(c.alerts), worst, "; ".join(n for n in notes if n), style=style)
    console.print(table)
    for engine, summary in summaries.items():
        if "note" in summary:
            console.print(f"{engine}: {summary['note']}")
            continue
        console.print(f"{engine}: zero-drop rate {_k(summary['zero_drop_rate'])} pps, "
                      f"first rate that lost {_k(summary['first_rate_that_lost'])} pps")
        if "sender_limited" in summary:
            console.print(f"  (stopped there: {summary['sender_limited']})")


def preflight(engines: list[str]) -> list[str]:
    """Refuse early, in one line, what cannot run; returns the engines that will."""
    if os.geteuid() != 0:
        raise SystemExit("bench_live: needs root (it makes a network namespace and a veth)")
    for tool in ("tcpreplay", "ip", "sysctl"):
        if shutil.which(tool) is None:
            raise SystemExit(f"bench_live: {tool} not found "
                             "(scripts/setup.sh --bench installs the benchmark tools)")
    if "suricata" in engines and shutil.which("suricata") is None:
        print("bench_live: suricata is not installed; measuring without it", file=sys.stderr)
        engines = [e for e in engines if e != "suricata"]
    return engines


def bench_pcap(scratch: Path, copies: int) -> Path:
    """bench_engine's pcap, built once into `scratch`; built aside and renamed into place,
    so that two benchmarks starting together never read a half-written file."""
    final = scratch / f"bench-{copies}x.pcap"
    if final.exists():
        return final
    for tool in ("capinfos", "editcap", "mergecap"):
        if shutil.which(tool) is None:
            raise SystemExit(f"bench_live: {tool} not found (Debian wireshark-common; "
                             "scripts/setup.sh --bench installs it), or pass --pcap FILE")
    build = Path(tempfile.mkdtemp(prefix="build-", dir=scratch))
    try:
        os.replace(build_bench_pcap(build, copies), final)
    finally:
        shutil.rmtree(build, ignore_errors=True)
    return final


def _interrupt(signum: int, frame: object) -> None:
    """SIGTERM takes the same way out as Ctrl-C, so every `finally` removes what it made;
    further signals are ignored so that the clean-up itself is not cut short."""
    signal.signal(signal.SIGTERM, signal.SIG_IGN)
    signal.signal(signal.SIGINT, signal.SIG_IGN)
    raise KeyboardInterrupt


def build_parser() -> argparse.ArgumentParser:
    ap = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    what = ap.add_mutually_exclusive_group(required=True)
    what.add_argument("--rate", type=parse_rates, metavar="RATES",
                      help="pps to replay at, e.g. 20k (or a list: 5k,10k)")
    what.add_argument("--find-max", action="store_true",
                      help=f"step the rate up (--rates, default {DEFAULT_RATES}) until drops")
    ap.add_argument("--rates", type=parse_rates, default=parse_rates(DEFAULT_RATES),
                    metavar="RATES", help="--find-max: the rates to step through")
    ap.add_argument("--repeat", type=int, default=1, help="runs per rate (default 1)")
    ap.add_argument("--refine", type=int, default=0,
                    help="--find-max: bisections between the last clean and first lost rate")
    ap.add_argument("--engines", type=parse_engines, default=["dpictl", "suricata"],
                    help="dpictl, suricata, capture (default dpictl,suricata)")
    ap.add_argument("--engine-less", action="store_true",
                    help="measure dpictl's AF_PACKET ring alone (same as --engines capture)")
    ap.add_argument("--pcap", type=Path, help="replay this pcap instead of the bench pcap")
    ap.add_argument("--copies", type=int, default=4, help="copies in the bench pcap")
    ap.add_argument("--scratch", type=Path, default=Path("/tmp/dpictl-bench"),
                    help="where the bench pcap is cached and runs write (as bench_engine's)")
    ap.add_argument("--loop", type=int, default=1, help="tcpreplay --loop (with --unique-ip)")
    ap.add_argument("--min-seconds", type=float, default=0.0,
                    help="raise --loop so each replay lasts at least this long")
    ap.add_argument("--limit", type=int, help="tcpreplay --limit: send only N packets")
    ap.add_argument("--rules", type=Path, default=RULES,
                    help=f"rule file for both engines (default {RULES.name})")
    ap.add_argument("--workers", type=int,
                    help="dpictl inspect --workers (default: dpictl's, one per CPU; "
                    "Suricata runs one worker)")
    ap.add_argument("--engine", choices=("python", "suricata"),
                    help="dpictl inspect --engine: the data plane of the dpictl runs "
                    "(default: dpictl's, python)")
    ap.add_argument("--wire-prefix", default="lb",
                    help="names of the benchmark's netns and veths start with this")
    ap.add_argument("--stats-interval", type=float, help="stats interval, both engines")
    ap.add_argument("--ring-size", type=int, help="dpictl (and capture) ring, MiB")
    ap.add_argument("--ready-timeout", type=float, default=300.0,
                    help="seconds an engine may take to start capturing")
    ap.add_argument("--tail", type=float, default=2.0,
                    help="seconds between the replay's end and SIGTERM")
    ap.add_argument("--keep", action="store_true", help="keep each run's logs and output")
    ap.add_argument("--json", action="store_true", help="print JSON instead of the table")
    return ap


def main(argv: list[str] | None = None) -> int:
    args = build_parser().parse_args(argv)
    engines = ["capture"] if args.engine_less else args.engines
    if args.repeat < 1:
        raise SystemExit("bench_live: --repeat must be at least 1")
    for path in filter(None, [args.pcap, args.rules]):
        if not path.exists():
            raise SystemExit(f"bench_live: {path}: no such file")
    engines = preflight(engines)
    args.scratch.mkdir(parents=True, exist_ok=True)
    pcap = args.pcap.resolve() if args.pcap else bench_pcap(args.scratch, args.copies)
    try:
        packets = pcap_size(pcap)[0] if shutil.which("capinfos") else 0
    except Exception:             # capinfos could not read it: tcpreplay will say more
        packets = 0
    plan = Plan(pcap=pcap, pcap_packets=packets, loops=args.loop, min_seconds=args.min_seconds,
                limit=args.limit, ready_timeout=args.ready_timeout, tail=args.tail,
                keep=args.scratch if args.keep else None, wire_prefix=args.wire_prefix,
                engine_options=EngineOptions(
                    rules=args.rules.resolve(), workers=args.workers,
                    stats_interval=args.stats_interval, ring_size=args.ring_size,
                    suricata_yaml=SURICATA_YAML, engine=args.engine))

    def say(text: str) -> None:
        print(text, file=sys.stderr, flush=True)

    signal.signal(signal.SIGTERM, _interrupt)
    signal.signal(signal.SIGINT, _interrupt)
    interrupted = False
    results: list[RunResult] = []
    summaries: dict[str, dict] = {}
    plane = f" (dpictl --engine {args.engine})" if args.engine else ""
    say(f"replaying {pcap} ({packets} packets); engines: {', '.join(engines)}{plane}")
    try:
        for engine in engines:
            if args.find_max:
                found, summaries[engine] = find_max(engine, args.rates, args.repeat,
                                                    args.refine, plan, args.scratch, say)
                results += found
                continue
            for rate in args.rate:
                for attempt in range(1, args.repeat + 1):
                    res = run_once(engine, rate, attempt, plan, args.scratch, say)
                    say(_progress(res))
                    results.append(res)
    except KeyboardInterrupt:
        say("bench_live: interrupted; the wire and the engines were removed")
        interrupted = True
        if not results:
            return 130
    if args.json:
        print(json.dumps({"pcap": str(pcap), "pcap_packets": packets,
                          "dpictl_engine": args.engine or "python",
                          "runs": [r.to_json() for r in results],
                          "summary": summaries}, indent=2, default=str))
    else:
        render(results, summaries, plan)
    if interrupted:
        return 130
    return 0 if all(r.error is None for r in results) else 1


if __name__ == "__main__":
    sys.exit(main())
