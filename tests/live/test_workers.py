"""`dpictl inspect --interface --workers N` on a veth fed with the frames of real captures:
the alerts do not depend on how many workers share the interface (PACKET_FANOUT keeps both
directions of a flow on one worker), and the final stats add up exactly in both cases.

Topology, per test and always removed: netns `dwk<pid>` holding a veth pair dwk<pid>a <->
dwk<pid>b (MTU 65535, no addresses, IPv6 off). Frames are written on `a` with a raw
AF_PACKET socket and captured on `b`.
"""

from __future__ import annotations

import json
import os
import signal
import socket
import subprocess
import sys
import time
from collections import Counter
from pathlib import Path

import pytest

from dpictl.capture import open_pcap
from dpictl.capture.netns import run_in_netns

pytestmark = [pytest.mark.root]

PCAPS = ("ec-macgyver.pcap", "ec-winrm_psremote_05-16.pcap", "lab-smk.pcap")


def sh(*argv: str) -> None:
    subprocess.run(argv, check=True, capture_output=True, timeout=30)


@pytest.fixture
def wire():
    tag = f"dwk{os.getpid() % 100000}"
    ns, send_if, cap_if = tag, f"{tag}a", f"{tag}b"
    try:
        sh("ip", "netns", "add", ns)
        sh("ip", "-n", ns, "link", "add", send_if, "type", "veth", "peer", "name", cap_if)
        for ifname in (send_if, cap_if):
            sh("ip", "netns", "exec", ns, "sysctl", "-qw",
               f"net.ipv6.conf.{ifname}.disable_ipv6=1")
            sh("ip", "-n", ns, "link", "set", ifname, "mtu", "65535", "up")
        yield ns, send_if, cap_if
    finally:
        subprocess.run(["ip", "netns", "del", ns], capture_output=True)


def replay(ns: str, ifname: str, pcaps: list[Path]) -> int:
    """Write every frame of the pcaps on `ifname`, paced so that no ring can overflow."""
    sock = run_in_netns(ns, lambda: socket.socket(socket.AF_PACKET, socket.SOCK_RAW))
    sent = 0
    try:
        sock.bind((ifname, 0))
        for path in pcaps:
            with open_pcap(str(path)) as frames:
                for _ts, frame, _linktype, _iface in frames:
                    sock.send(frame)
                    sent += 1
                    if sent % 200 == 0:
                        time.sleep(0.01)
    finally:
        sock.close()
    return sent


def inspect_replay(ns: str, send_if: str, cap_if: str, workers: int, pcaps: list[Path],
                   rules: Path, tmp_path: Path) -> tuple[list[dict], dict, int]:
    proc = subprocess.Popen(
        [sys.executable, "-m", "dpictl", "inspect", "--interface", cap_if, "--netns", ns,
         "-o", "eve", "--no-store", "--rules", str(rules), "--workers", str(workers),
         "--stats-interval", "0.5"],
        stdout=subprocess.PIPE, stderr=subprocess.PIPE, text=True)
    try:
        first = proc.stderr.readline()
        assert first.startswith("capturing on"), first + proc.stderr.read()
        sent = replay(ns, send_if, pcaps)
        time.sleep(1.5)                         # let the workers finish the tail
        proc.send_signal(signal.SIGTERM)
        out, err = proc.communicate(timeout=60)
    finally:
        if proc.poll() is None:
            proc.kill()
            proc.wait()
    assert proc.returncode == 0, err
    events = [json.loads(line) for line in out.splitlines() if line.strip()]
    alerts = [e for e in events if e["event_type"] == "alert"]
    stats = [e["stats"] for e in events if e["event_type"] == "stats"]
    assert events[-1]["event_type"] == "stats" and len(stats) >= 2    # periodic, then final
    return alerts, stats[-1], sent


def _key(alert: dict) -> tuple:
    return (alert["alert"]["signature_id"], alert["src_ip"], alert.get("src_port"),
            alert["dest_ip"], alert.get("dest_port"))


def test_alerts_are_the_same_with_one_and_two_workers(wire, shared_dir, tmp_path):
    ns, send_if, cap_if = wire
    pcaps = [shared_dir / "pcaps" / name for name in PCAPS]
    rules = shared_dir / "rules" / "snort3-community.rules"
    runs = {}
    for workers in (1, 2):
        alerts, final, sent = inspect_replay(ns, send_if, cap_if, workers, pcaps, rules,
                                             tmp_path)
        capture = final["capture"]
        assert capture["kernel_drops"] == 0, final
        assert capture["kernel_packets"] >= sent                # plus stray kernel frames
        assert (capture["kernel_packets"] - capture["kernel_drops"] - capture["discarded"]
                == final["decoder"]["pkts"])
        assert final["detect"]["alert"] == len(alerts)
        assert final["dpictl"]["workers"] == workers
        runs[workers] = Counter(map(_key, alerts))
    assert runs[1], "the captures raise alerts with these rules"
    assert runs[1] == runs[2]
    assert any(sid == 21562 for sid, *_ in runs[2])          # the lab's POST


def test_two_workers_both_inspect(wire, shared_dir, tmp_path):
    """Flows are spread: with two workers each one's sockets saw part of the traffic."""
    ns, send_if, cap_if = wire
    from dpictl.live import LiveInspection, LiveOptions

    seen: dict[int, int] = {}
    live = LiveInspection(LiveOptions(interfaces=(cap_if,), netns=ns, workers=2,
                                      stats_interval=0.5))

    class CountingEngine:
        """Counts frames; the real engine is not needed to see the split."""
        def __init__(self):
            self.n = 0

        def feed(self, ts, frame, linktype, iface=None):
            self.n += 1
            return []

        def flush(self):
            return []

        def fork(self):
            return CountingEngine()

        @property
        def stats(self):
            return {"packets": self.n}

        rule_report: list = []

    import threading

    def stop_later():
        replay(ns, send_if, [shared_dir / "pcaps" / "ec-macgyver.pcap"])
        time.sleep(1.0)
        live.stop()

    threading.Thread(target=stop_later, daemon=True).start()
    final = live.run(CountingEngine(), lambda dets: None)
    for index, worker in final.workers.items():
        seen[index] = worker.pkts
    assert len(seen) == 2 and all(n > 0 for n in seen.values()), seen
    assert final.kernel_drops == 0
    assert sum(seen.values()) == final.kernel_packets - final.discarded


def _children(pid: int) -> list[int]:
    out = subprocess.run(["pgrep", "-P", str(pid)], capture_output=True, text=True)
    return [int(x) for x in out.stdout.split()]


def test_workers_die_with_a_killed_inspect(wire):
    """kill -9 of `dpictl inspect` must not leave workers capturing unseen."""
    ns, _send_if, cap_if = wire
    proc = subprocess.Popen(
        [sys.executable, "-m", "dpictl", "inspect", "--interface", cap_if, "--netns", ns,
         "-o", "eve", "--no-store", "--workers", "2"],
        stdout=subprocess.DEVNULL, stderr=subprocess.PIPE, text=True)
    try:
        assert proc.stderr.readline().startswith("capturing on")
        deadline = time.monotonic() + 20             # the workers fork once rules compiled
        while time.monotonic() < deadline and len(_children(proc.pid)) < 2:
            time.sleep(0.1)
        workers = _children(proc.pid)
        assert len(workers) == 2
        proc.kill()
        proc.wait(10)
        deadline = time.monotonic() + 10
        while time.monotonic() < deadline and any(os.path.exists(f"/proc/{w}") for w in workers):
            time.sleep(0.1)
        assert not any(os.path.exists(f"/proc/{w}") for w in workers)
    finally:
        if proc.poll() is None:
            proc.kill()
