"""The live benchmark (benchmarks/bench_live.py): how it reads the tools and the engines, how
it steps the rate, and, as root with tcpreplay, a real replay through its wire that must
count every packet and leave no namespace, veth or process behind, even when stopped."""

from __future__ import annotations

import json
import os
import shutil
import signal
import subprocess
import sys
import time
from pathlib import Path

import pytest

BENCH = Path(__file__).resolve().parents[2] / "benchmarks"
sys.path.insert(0, str(BENCH))

import bench_live  # noqa: E402
from live_engines import (BenchError, EngineCounts, counts_from_eve,  # noqa: E402
                          parse_suricata_shutdown, parse_tcpreplay, tcpreplay_command)
from live_wire import LossCounters, softnet_drops  # noqa: E402

TCPREPLAY_OUT = """\
Actual: 40000 packets (23072523 bytes) sent in 2.00 seconds
Rated: 11515309.3 Bps, 92.12 Mbps, 19963.67 pps
Flows: 6900 flows, 3443.73 fps, 161612 unique flow packets, 2336 unique non-flow packets
Statistics for network device: lb73db4es
\tSuccessful packets:        39998
\tFailed packets:            2
\tTruncated packets:         0
"""

DPICTL_STATS = json.dumps({"timestamp": "2026-12-04T21:09:09.161023+0000",
                           "event_type": "stats", "stats": {
                               "uptime": 12,
                               "capture": {"kernel_packets": 20000, "kernel_drops": 7283,
                                           "discarded": 0},
                               "decoder": {"pkts": 12717, "bytes": 8011626, "invalid": 0},
                               "flow": {"total": 702}, "detect": {"alert": 2},
                               "dpictl": {"workers": 1, "worst_packet_us": 1144180.5}}})
SURICATA_STATS = ('{"timestamp":"2026-12-04T21:00:23.812969+0000","event_type":"stats",'
                  '"stats":{"uptime":24,"capture":{"kernel_packets":40000,"kernel_drops":0,'
                  '"errors":0},"decoder":{"pkts":40000,"bytes":23072523},"flow":{"tcp":1},'
                  '"detect":{"alert":1416,"alerts_suppressed":2281}}}')


def test_tcpreplay_summary_gives_sent_rate_and_failures() -> None:
    replay = parse_tcpreplay(TCPREPLAY_OUT)
    assert (replay.sent, replay.seconds, replay.pps, replay.failed) == (40000, 2.0, 19963.67, 2)


def test_tcpreplay_without_an_actual_line_is_an_error_naming_its_last_line() -> None:
    with pytest.raises(BenchError, match="Fatal Error: failed to open device"):
        parse_tcpreplay("Warning: foo\nFatal Error: failed to open device lbx\n")


def test_loops_get_unique_ips_so_each_loop_makes_new_flows() -> None:
    once = tcpreplay_command("lbs", Path("a.pcap"), 5000)
    assert once == ["tcpreplay", "-i", "lbs", "--pps=5000", "--preload-pcap", "a.pcap"]
    looped = tcpreplay_command("lbs", Path("a.pcap"), 5000, loops=3, limit=10)
    assert {"--loop=3", "--unique-ip", "--limit=10"} <= set(looped)


def test_the_last_stats_event_is_the_final_count_and_alert_events_are_counted() -> None:
    early = DPICTL_STATS.replace('"kernel_packets": 20000', '"kernel_packets": 5')
    alert = '{"event_type": "alert", "alert": {"signature_id": 1}}'
    counts = counts_from_eve(["capturing on x", early, alert, "{not json", alert, DPICTL_STATS])
    assert (counts.captured, counts.dropped, counts.decoded) == (20000, 7283, 12717)
    assert (counts.alerts, counts.alert_events, counts.worst_us) == (2, 2, 1144180.5)
    assert counts.workers == 1 and counts.source == "eve stats"


def test_suricata_eve_stats_read_with_the_same_names() -> None:
    counts = counts_from_eve([SURICATA_STATS])
    assert (counts.captured, counts.dropped, counts.decoded, counts.alerts) == (
        40000, 0, 40000, 1416)
    assert counts.worst_us is None


def test_dpictl_on_suricata_is_read_from_dpictls_own_stats_events(tmp_path: Path) -> None:
    from live_engines import DpictlRun, EngineOptions
    from live_wire import Wire

    run = DpictlRun("ns1", "if1", tmp_path, EngineOptions(rules=tmp_path / "r.rules",
                                                          engine="suricata"))
    command = run.command()
    assert command[command.index("--engine") + 1] == "suricata"
    assert "--engine" not in DpictlRun("ns1", "if1", tmp_path,
                                       EngineOptions(rules=tmp_path / "r.rules")).command()
    # dpictl's re-emitted Suricata stats say the packet time is not measured: null
    event = json.loads(DPICTL_STATS)
    event["stats"]["dpictl"].update(worst_packet_us=None, engine="suricata")
    counts = counts_from_eve([json.dumps(event)])
    assert counts.worst_us is None and (counts.captured, counts.dropped) == (20000, 7283)
    wire = Wire("suriplane")                     # a long prefix still names a valid veth
    assert wire.netns.startswith("suriplane") and len(wire.send_iface) <= 15


def test_without_a_stats_event_counts_are_unknown_not_zero() -> None:
    counts = counts_from_eve(['{"event_type": "alert"}'])
    assert counts.captured is None and counts.decoded is None and counts.alerts == 1
    assert "no stats event" in counts.notes[0]


def test_suricata_shutdown_line_for_the_right_interface() -> None:
    log = ("i: device: lbaac: packets: 7, drops: 1 (14.29%), invalid chksum: 0\n"
           "i: device: lb73db4ec: packets: 40000, drops: 12 (0.03%), invalid chksum: 0\n")
    assert parse_suricata_shutdown(log, "lb73db4ec") == (40000, 12)
    assert parse_suricata_shutdown(log, "other") is None


def test_softnet_drops_sum_the_second_column_over_cpus() -> None:
    text = ("0000a000 00000002 00000000 00000000\n"
            "0000b000 0000000f 00000001 00000000\n")
    assert softnet_drops(text) == 17
    before = LossCounters(softnet_drops=17, capture_rx_dropped=0, send_tx_dropped=3)
    after = LossCounters(softnet_drops=20, capture_rx_dropped=0, send_tx_dropped=3)
    assert after.moved_since(before) == {"softnet_stat drops": 3}


@pytest.mark.parametrize("text, rate", [("20k", 20000), ("7500", 7500), ("1.5m", 1500000),
                                        ("250kpps", 250000)])
def test_rates_read_with_suffixes(text: str, rate: int) -> None:
    assert bench_live.parse_rate(text) == rate


@pytest.mark.parametrize("text", ["fast", "0", "-5k"])
def test_bad_rates_are_refused(text: str) -> None:
    with pytest.raises(Exception, match="rate"):
        bench_live.parse_rate(text)


def _result(sent: int, captured: int, dropped: int, decoded: int, rate: int = 1000,
            sent_pps: float | None = None) -> bench_live.RunResult:
    return bench_live.RunResult(engine="dpictl", rate=rate, attempt=1, sent=sent,
                                sent_pps=rate if sent_pps is None else sent_pps,
                                counts=EngineCounts(captured=captured, dropped=dropped,
                                                    decoded=decoded))


def test_a_run_is_clean_only_when_nothing_dropped_and_everything_sent_was_decoded() -> None:
    assert _result(100, 100, 0, 100).clean is True
    assert _result(100, 100, 3, 97).clean is False
    lost_early = _result(100, 90, 0, 90)                 # died before the socket saw it
    assert lost_early.clean is False and lost_early.lost == 10
    assert any("90 of 100" in w for w in lost_early.warnings())
    unknown = bench_live.RunResult(engine="dpictl", rate=1000, attempt=1, sent=100)
    assert unknown.clean is None


def test_counts_that_do_not_add_up_are_flagged() -> None:
    run = _result(100, 100, 3, 90)
    assert any("do not add up" in w for w in run.warnings())
    assert not any("do not add up" in w for w in _result(100, 100, 3, 97).warnings())


def _plan() -> bench_live.Plan:
    from live_engines import EngineOptions

    return bench_live.Plan(pcap=Path("x.pcap"), pcap_packets=1000,
                           engine_options=EngineOptions(rules=Path("r.rules")))


def _fake_engine(capacity: int, flaky: set[tuple[int, int]] = frozenset(),
                 sender_max: int = 10**9):
    """A runner whose engine keeps up to `capacity` pps and whose tcpreplay sends at most
    `sender_max`; (rate, attempt) in `flaky` drops."""
    calls: list[tuple[int, int]] = []

    def runner(engine, rate, attempt, plan, scratch, say):
        calls.append((rate, attempt))
        sent_pps = min(rate, sender_max)
        dropped = 1 if sent_pps > capacity or (rate, attempt) in flaky else 0
        return _result(1000, 1000, dropped, 1000 - dropped, rate=rate, sent_pps=sent_pps)

    return runner, calls


def test_find_max_stops_at_the_first_rate_that_drops() -> None:
    runner, calls = _fake_engine(capacity=20_000)
    _, summary = bench_live.find_max("dpictl", [5000, 10000, 20000, 50000, 100000], 1, 0,
                                     _plan(), Path("/tmp"), lambda s: None, runner=runner)
    assert summary == {"zero_drop_rate": 20000, "first_rate_that_lost": 50000}
    assert [rate for rate, _ in calls] == [5000, 10000, 20000, 50000]


def test_find_max_needs_every_repeat_clean() -> None:
    runner, calls = _fake_engine(capacity=100_000, flaky={(10000, 2)})
    _, summary = bench_live.find_max("dpictl", [5000, 10000, 20000], 2, 0, _plan(),
                                     Path("/tmp"), lambda s: None, runner=runner)
    assert summary["zero_drop_rate"] == 5000 and summary["first_rate_that_lost"] == 10000
    assert calls == [(5000, 1), (5000, 2), (10000, 1), (10000, 2)]


def test_find_max_refines_between_the_last_clean_and_first_lost_rate() -> None:
    runner, _ = _fake_engine(capacity=37_000)
    _, summary = bench_live.find_max("dpictl", [20000, 50000], 1, 3, _plan(), Path("/tmp"),
                                     lambda s: None, runner=runner)
    # 35k clean, then 42k lost, then 38k lost: the bracket narrows to [35k, 38k].
    assert summary == {"zero_drop_rate": 35000, "first_rate_that_lost": 38000}


def test_find_max_does_not_credit_a_rate_the_sender_could_not_reach() -> None:
    runner, calls = _fake_engine(capacity=10**9, sender_max=60_000)
    _, summary = bench_live.find_max("dpictl", [20000, 50000, 100000, 200000], 1, 2,
                                     _plan(), Path("/tmp"), lambda s: None, runner=runner)
    assert summary["zero_drop_rate"] == 50000 and summary["first_rate_that_lost"] is None
    assert "60000 pps" in summary["sender_limited"]
    assert [rate for rate, _ in calls] == [20000, 50000, 100000]


def test_a_short_sender_is_named_in_the_run_warnings() -> None:
    run = _result(100, 100, 0, 100, rate=100000, sent_pps=62555)
    assert run.clean is True and not run.rate_reached
    assert "tcpreplay reached only 62555 pps" in run.warnings()


def test_min_seconds_raises_the_loop_count() -> None:
    plan = bench_live.Plan(pcap=Path("x.pcap"), pcap_packets=1000, min_seconds=2.0,
                           engine_options=_plan().engine_options)
    assert plan.loops_for(100) == 1 and plan.loops_for(5000) == 10


# -- real replays: root, tcpreplay ------------------------------------------------------------
def needs_wire(test):
    """Root (the suite's policy) and tcpreplay, which scripts/setup.sh --test installs."""
    return pytest.mark.root(pytest.mark.skipif(
        shutil.which("tcpreplay") is None,
        reason="tcpreplay not installed (scripts/setup.sh --test)")(test))


def _bench(*args: str) -> subprocess.Popen[str]:
    env = dict(os.environ, PYTHONPATH=str(BENCH.parent))
    return subprocess.Popen([sys.executable, str(BENCH / "bench_live.py"), *args], env=env,
                            stdout=subprocess.PIPE, stderr=subprocess.PIPE, text=True)


def _gone(netns: str) -> bool:
    names = subprocess.run(["ip", "netns", "list"], capture_output=True, text=True).stdout
    links = subprocess.run(["ip", "-o", "link"], capture_output=True, text=True).stdout
    procs = subprocess.run(["ps", "-eo", "args"], capture_output=True, text=True).stdout
    return netns not in names and netns not in links and netns not in procs


@needs_wire
def test_engine_less_replay_counts_every_packet_and_cleans_up(shared_dir: Path) -> None:
    pcap = shared_dir / "pcaps" / "sv-irc.pcap"          # 48 packets
    proc = _bench("--engine-less", "--rate", "2000", "--pcap", str(pcap), "--tail", "0.5",
                  "--json")
    out, err = proc.communicate(timeout=120)
    assert proc.returncode == 0, err
    (run,) = json.loads(out)["runs"]
    counts = run["counts"]
    assert run["sent"] == 48 and run["clean"] is True, run
    assert (counts["captured"], counts["dropped"], counts["decoded"]) == (48, 0, 48)
    assert run["warnings"] == []
    assert _gone(run["netns"])


@needs_wire
def test_sigterm_mid_replay_removes_the_wire_and_the_engine(shared_dir: Path) -> None:
    pcap = shared_dir / "pcaps" / "ec-macgyver.pcap"     # 3701 packets: 7 s at 500 pps
    proc = _bench("--engine-less", "--rate", "500", "--pcap", str(pcap), "--json")
    assert proc.stderr is not None
    netns = None
    deadline = time.monotonic() + 60
    while netns is None and time.monotonic() < deadline:
        line = proc.stderr.readline()
        if "in netns " in line:
            netns = line.split("in netns ")[1].split()[0]
    assert netns is not None, "the benchmark never said which netns it made"
    time.sleep(2)                                        # the engine is up, tcpreplay sends
    proc.send_signal(signal.SIGTERM)
    proc.communicate(timeout=60)
    assert _gone(netns)
