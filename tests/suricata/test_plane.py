"""SuricataPlane without the agent: rule reload through the unix socket keeps capturing.

Root only: a veth pair (one end in a netns this test makes) and one Suricata on it.
"""

from __future__ import annotations

import os
import shutil
import signal
import socket
import subprocess
import sys
import threading
import time

import pytest
from wires import veth_pair  # tests/suricata is on sys.path (conftest.py)

from dpictl.suricata.binary import find_suricata
from dpictl.suricata.plane import LINKTYPE_EVE, EveEngine, SuricataPlane, SuricataSource

NS, HOST_IF, NS_IF = "suriplane-pl", "suriplane-pla", "suriplane-plb"
HOST_IP, NS_IP = "10.199.9.1", "10.199.9.2"


@pytest.fixture()
def veth():
    with veth_pair(NS, HOST_IF, NS_IF, HOST_IP, NS_IP):
        yield


def test_eve_engine_maps_an_alert_record_to_a_detection():
    from dpictl.rules import parse_rule

    rule = parse_rule('alert tcp any any -> any any (msg:"m"; content:"x"; sid:7; rev:2;)')
    engine = EveEngine({rule.key: rule})
    record = {"event_type": "alert", "timestamp": "2023-11-14T22:13:20.000300+0000",
              "src_ip": "10.0.0.1", "src_port": 1, "dest_ip": "10.0.0.2", "dest_port": 80,
              "proto": "TCP", "in_iface": "cali1", "alert": {"gid": 1, "signature_id": 7}}
    (det,) = engine.fork().feed(0.0, record, LINKTYPE_EVE, "cali1")
    assert det.rule is rule and det.iface == "cali1" and det.dst_port == 80
    assert det.ts == pytest.approx(1700000000.0003)
    assert engine.feed(0.0, b"\x00" * 60, 1, "cali1") == []          # a real frame: nothing
    assert engine.feed(0.0, {**record, "alert": {"signature_id": 8}}, LINKTYPE_EVE) == []


def _send(payload: bytes) -> None:
    server = subprocess.Popen(
        ["ip", "netns", "exec", NS, sys.executable, "-c",
         "import socket\ns=socket.socket();s.setsockopt(socket.SOL_SOCKET,socket.SO_REUSEADDR,1)"
         f"\ns.bind(('{NS_IP}',8080));s.listen(1);c,_=s.accept();c.recv(4096);"
         "c.sendall(b'ok');c.close()"])
    time.sleep(0.5)
    with socket.create_connection((NS_IP, 8080), timeout=5) as s:
        s.sendall(payload)
        s.recv(10)
    server.wait(10)


@pytest.mark.root
@pytest.mark.skipif(shutil.which("suricata") is None, reason="Suricata is not installed")
def test_new_rules_reload_without_a_new_suricata(veth, tmp_path):
    plane = SuricataPlane(find_suricata(), tmp_path / "plane")
    plane.load_rules([])                                     # the built-in rules
    source = plane.open_source([HOST_IF])
    records: list = []
    reader = threading.Thread(target=lambda: records.extend(source), daemon=True)
    reader.start()
    try:
        pid = source.process.pid
        rules = tmp_path / "mine.rules"
        rules.write_text('alert tcp any any -> any 8080 (msg:"mine"; flow:to_server; '
                         'content:"hello-dpictl"; sid:9000001; rev:1;)\n')
        loaded = plane.load_rules([rules])
        assert source.process.pid == pid and loaded.rules == 1
        _send(b"hello-dpictl")
        deadline = time.monotonic() + 30
        while time.monotonic() < deadline and not records:
            time.sleep(0.2)
        (ts, record, linktype, iface), *_ = records
        assert linktype == LINKTYPE_EVE and iface == HOST_IF
        det, = loaded.engine.feed(ts, record, linktype, iface)
        assert det.rule.sid == 9000001 and det.dst_ip == NS_IP
    finally:
        source.stop()
        reader.join(5)
        source.close()
    assert source.process is None
    assert subprocess.run(["pgrep", "-f", str(tmp_path)], capture_output=True).stdout == b""


def _wait(check, timeout: float = 30.0):
    deadline = time.monotonic() + timeout
    while time.monotonic() < deadline:
        value = check()
        if value:
            return value
        time.sleep(0.2)
    raise AssertionError("timed out")


def _udp(count: int, size: int) -> None:
    with socket.socket(socket.AF_INET, socket.SOCK_DGRAM) as s:
        for _ in range(count):
            s.sendto(b"x" * size, (NS_IP, 9))


@pytest.mark.root
@pytest.mark.skipif(shutil.which("suricata") is None, reason="Suricata is not installed")
def test_drops_on_an_interface_become_its_endpoints_error_condition(veth, tmp_path):
    """Real per-interface counters from Suricata's per-thread stats reach the agent: they
    show in the snapshot (lab status) by endpoint, and drops - forced by freezing Suricata
    while more arrives than its ring holds - become the resource's errorConditions."""
    from agent.fakes import NODE, FakeSink, FakeSource, dpi, endpoint

    from dpictl.agent.capture_loop import CaptureLoop
    from dpictl.agent.controller import DpiController

    plane = SuricataPlane(find_suricata(), tmp_path / "plane", stats_interval=1)
    loaded = plane.load_rules([])
    source = FakeSource([dpi("web", "web-dpi")], [endpoint("web", "web1", NS_IP, HOST_IF)])
    ctl = DpiController(source, FakeSink(), loaded.engine, capture=None, node=NODE)
    capture = CaptureLoop(plane, ctl.on_frame, ctl.on_capture_error)
    ctl.capture = capture
    plane.bind(ctl)
    try:
        ctl.reconcile()
        assert source.statuses == [("web/web-dpi", True, None)]
        _udp(50, 100)
        counts = _wait(lambda: (c := capture.stats().get(HOST_IF, {})).get(
            "kernel_packets", 0) >= 50 and c)
        assert counts["kernel_drops"] == 0
        monitor, = ctl.snapshot()["monitors"]
        assert monitor["endpoint"] == "web/web1" and monitor["kernel_packets"] >= 50

        pid = plane.source.process.pid
        os.killpg(pid, signal.SIGSTOP)       # Suricata reads nothing; its ring fills
        try:
            _udp(8000, 1400)                 # ~2,900 such frames fill 33 blocks of 128 KiB
        finally:
            os.killpg(pid, signal.SIGCONT)
        counts = _wait(lambda: (c := capture.stats().get(HOST_IF, {})).get(
            "kernel_drops", 0) > 0 and c)
        ctl.reconcile()
        key, success, error = source.statuses[-1]
        assert key == "web/web-dpi" and success is True
        assert f"packets dropped on WEP interface {HOST_IF} (web/web1) before inspection" \
            in error
        monitor, = ctl.snapshot()["monitors"]
        assert 0 < monitor["kernel_drops"] < monitor["kernel_packets"]
    finally:
        capture.stop()
    assert subprocess.run(["pgrep", "-f", str(tmp_path)], capture_output=True).stdout == b""


def test_pods_selected_together_cost_one_restart(monkeypatch):
    """The controller asks for 50 interfaces one by one: the first add starts a Suricata on
    all the selection holds (each start loads every rule), the other 49 find theirs
    running. When that start fails (one interface is the trouble), the asked one still
    gets its Suricata."""
    selection = {"keep"} | {f"cali{i}" for i in range(50)}
    source = SuricataSource.__new__(SuricataSource)
    source.plane = type("P", (), {"selected": lambda self: set(selection)})()
    source.running, source.removed = {"keep", "old"}, {}
    source.lock = threading.RLock()
    restarts: list[set[str]] = []

    def restart(ifaces: set[str]) -> None:
        if "bad" in ifaces:
            raise RuntimeError("Suricata did not start")
        restarts.append(set(ifaces))
        source.running = set(ifaces)

    monkeypatch.setattr(source, "_restart", restart)
    source.remove("old")
    for i in range(50):
        source.add(f"cali{i}")
    assert restarts == [selection]                  # "old" went with the same restart
    selection |= {"bad", "new"}
    source.add("new")
    assert restarts[-1] == source.running == {"keep", "new"} | {f"cali{i}" for i in range(50)}


def test_stats_records_count_only_from_the_running_suricata(monkeypatch):
    """Suricata's uptime runs from its process start (its rule load included): a record of
    the running one is taken however long the rules took; one from the Suricata it
    replaced (both write to the FIFO while they overlap) is not."""
    from dpictl.suricata import plane as plane_mod

    def record(uptime: int, packets: int) -> dict:
        return {"event_type": "stats", "stats": {
            "uptime": uptime, "capture": {"kernel_packets": packets, "kernel_drops": 1},
            "threads": {"W#01-cali1": {"capture": {"kernel_packets": packets,
                                                   "kernel_drops": 1},
                                       "decoder": {"pkts": packets - 1}}}}}

    monkeypatch.setattr(plane_mod.time, "monotonic", lambda: 1000.0)
    source = SuricataSource.__new__(SuricataSource)
    source.plane = type("P", (), {"stats": {}})()
    source.process = type("Proc", (), {"started_at": 1000.0 - 20})()  # 15 s of rule load
    source._counts_lock = threading.Lock()
    source._closed = {"cali1": {"kernel_packets": 7, "kernel_drops": 2, "discarded": 0,
                                "inspected": 5}}
    source._current = {}
    source._take_stats(record(20, 100))
    source._take_stats(record(95, 5000))          # the replaced Suricata's last record
    assert source.stats() == {"cali1": {"kernel_packets": 107, "kernel_drops": 3,
                                        "discarded": 0, "inspected": 104}}
