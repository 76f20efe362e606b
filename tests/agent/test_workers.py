"""The agent's WorkerPool on real veths: two forked workers share each interface through
PACKET_FANOUT, detections come back tagged with their interface, the per-interface counters
add up, a bad interface is refused as one error, a killed worker is reported and replaced,
and new rules swap the workers without losing the interfaces.

Topology, per test and always removed: netns `dwp<pid>` with veth pairs dwp<pid>a1 <->
dwp<pid>b1 and dwp<pid>a2 <-> dwp<pid>b2; frames of lab-smk.pcap are written on the a-sides
with a raw socket and captured on the b-sides.
"""

from __future__ import annotations

import os
import signal
import socket
import subprocess
import threading
import time

import pytest

from dpictl.agent.runtime import afpacket_factory
from dpictl.agent.workers import WorkerPool
from dpictl.capture import open_pcap
from dpictl.capture.netns import run_in_netns
from dpictl.engine import Engine
from dpictl.errors import CaptureError
from dpictl.rules import builtin_rules

pytestmark = [pytest.mark.root]


def sh(*argv: str) -> None:
    subprocess.run(argv, check=True, capture_output=True, timeout=30)


@pytest.fixture
def wires():
    tag = f"dwp{os.getpid() % 100000}"
    try:
        sh("ip", "netns", "add", tag)
        for n in (1, 2):
            sh("ip", "-n", tag, "link", "add", f"{tag}a{n}", "type", "veth", "peer", "name",
               f"{tag}b{n}")
            for side in "ab":
                sh("ip", "netns", "exec", tag, "sysctl", "-qw",
                   f"net.ipv6.conf.{tag}{side}{n}.disable_ipv6=1")
                sh("ip", "-n", tag, "link", "set", f"{tag}{side}{n}", "up")
        yield tag
    finally:
        subprocess.run(["ip", "netns", "del", tag], capture_output=True)


def send_lab_frames(ns: str, ifname: str, pcap) -> int:
    sock = run_in_netns(ns, lambda: socket.socket(socket.AF_PACKET, socket.SOCK_RAW))
    try:
        sock.bind((ifname, 0))
        with open_pcap(str(pcap)) as frames:
            return sum(sock.send(frame) > 0 for _ts, frame, _lt, _if in frames)
    finally:
        sock.close()


def wait_for(cond, timeout=15.0) -> bool:
    deadline = time.monotonic() + timeout
    while time.monotonic() < deadline:
        if cond():
            return True
        time.sleep(0.05)
    return False


def test_worker_pool_inspects_shares_counts_and_recovers(wires, shared_dir):
    ns = wires
    pcap = shared_dir / "pcaps" / "lab-smk.pcap"
    found: list[tuple[str, int]] = []
    errors: list[tuple[str | None, str]] = []
    lock = threading.Lock()

    def on_detections(iface, dets):
        with lock:
            found.extend((iface, d.sid) for d in dets)

    pool = WorkerPool(Engine(builtin_rules().rules), 2, afpacket_factory(ns), on_detections,
                      lambda iface, msg: errors.append((iface, msg)))
    pool.start()
    try:
        b1, b2 = f"{ns}b1", f"{ns}b2"
        pool.add(b1)
        pool.add(b2)
        assert pool.interfaces == {b1, b2}
        with pytest.raises(CaptureError, match="nosuch0"):
            pool.add("nosuch0")
        assert pool.interfaces == {b1, b2}

        sent = send_lab_frames(ns, f"{ns}a1", pcap) + send_lab_frames(ns, f"{ns}a2", pcap)
        assert wait_for(lambda: {(b1, 1000001), (b2, 1000001)} <= set(found)), found
        assert wait_for(lambda: sum(c.get("inspected", 0) for c in pool.stats().values())
                        >= sent)
        stats = pool.stats()
        for iface in (b1, b2):
            counts = stats[iface]
            assert counts["kernel_drops"] == 0
            assert counts["kernel_packets"] - counts["discarded"] == counts["inspected"]

        # a worker is killed: reported, replaced, and inspection goes on
        victim = pool._workers[0].proc.pid
        os.kill(victim, signal.SIGKILL)
        assert wait_for(lambda: any("died" in msg for _i, msg in errors)), errors
        assert wait_for(lambda: 0 in pool._workers and pool._workers[0].proc.pid != victim)
        before = len(found)
        assert wait_for(lambda: send_lab_frames(ns, f"{ns}a1", pcap) and
                        len(found) > before, timeout=20)

        # new rules: new workers, same interfaces, still inspecting
        pool.set_engine(Engine(builtin_rules().rules))
        assert pool.interfaces == {b1, b2}
        before = len(found)
        assert wait_for(lambda: send_lab_frames(ns, f"{ns}a2", pcap) and
                        len(found) > before, timeout=20)
        assert isinstance(pool.remove(b1), list)
        assert pool.interfaces == {b2}
    finally:
        pool.stop()
    assert not any(w.proc.is_alive() for w in pool._workers.values())
