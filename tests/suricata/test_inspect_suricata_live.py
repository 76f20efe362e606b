"""`dpictl inspect --engine suricata -i IF`: Suricata on AF_PACKET, alerts and stats via EVE.

A veth pair (one end in a netns this test creates) carries a real HTTP exchange that the
built-in Bredolab-style rule matches; the alert must come back with the interface that saw
it, the kernel counters must be passed through, and SIGTERM must leave no Suricata behind.
"""

from __future__ import annotations

import json
import os
import shutil
import signal
import socket
import subprocess
import sys
import threading
import time
from pathlib import Path

import pytest
from wires import veth_pair  # tests/suricata is on sys.path (conftest.py)

pytestmark = [pytest.mark.root, pytest.mark.skipif(shutil.which("suricata") is None,
                                                   reason="Suricata is not installed")]

NS, HOST_IF, NS_IF = "suriplane-lt", "suriplane-lta", "suriplane-ltb"
HOST_IP, NS_IP = "10.199.8.1", "10.199.8.2"


@pytest.fixture()
def veth():
    with veth_pair(NS, HOST_IF, NS_IF, HOST_IP, NS_IP):
        yield


def _serve_once() -> subprocess.Popen:
    code = ("import socket\ns=socket.socket();s.setsockopt(socket.SOL_SOCKET,"
            "socket.SO_REUSEADDR,1)\n"
            f"s.bind(('{NS_IP}',80));s.listen(1);c,_=s.accept();c.recv(4096)\n"
            "c.sendall(b'HTTP/1.1 200 OK\\r\\nContent-Length: 2\\r\\n\\r\\nok');c.close()")
    return subprocess.Popen(["ip", "netns", "exec", NS, sys.executable, "-c", code])


def _wait_for(path: Path, text: str, timeout: float) -> None:
    end = time.monotonic() + timeout
    while time.monotonic() < end:
        if path.exists() and text in path.read_text(errors="replace"):
            return
        time.sleep(0.2)
    raise AssertionError(f"{text!r} never appeared in {path}")


def test_live_alert_carries_the_interface_and_kernel_stats(veth, tmp_path):
    logs = tmp_path / "logs"
    env = dict(os.environ, DPICTL_SURICATA_LOG_DIR=str(logs))
    proc = subprocess.Popen([sys.executable, "-m", "dpictl", "inspect", "--engine", "suricata",
                             "-i", HOST_IF, "-o", "eve", "--no-store"], env=env,
                            stdout=subprocess.PIPE, stderr=subprocess.PIPE, text=True)
    try:
        _wait_for(logs / "suricata.log", "Engine started", 120)
        server = _serve_once()
        time.sleep(0.5)
        with socket.create_connection((NS_IP, 80), timeout=5) as s:
            s.sendall(b"POST /x HTTP/1.1\r\nHost: a\r\nUser-Agent: Mozilla/4.0\r\n"
                      b"Content-Length: 11\r\n\r\nsmk=1234567")
            assert s.recv(100).startswith(b"HTTP/1.1 200")
        server.wait(10)
        time.sleep(2)
    finally:
        proc.send_signal(signal.SIGTERM)
        out, err = proc.communicate(timeout=60)
    assert proc.returncode == 0, err
    events = [json.loads(line) for line in out.splitlines()]
    alerts = [e for e in events if e.get("event_type") == "alert"]
    assert [a["alert"]["signature_id"] for a in alerts] == [1000001], (out, err)
    assert alerts[0]["in_iface"] == HOST_IF
    assert {alerts[0]["src_ip"], alerts[0]["dest_ip"]} == {HOST_IP, NS_IP}
    # Suricata's stats records, re-emitted in the Python live engine's shape; the last is
    # written once the capture threads stopped, so its counts add up exactly
    stats = [e for e in events if e.get("event_type") == "stats"][-1]["stats"]
    assert stats["capture"]["kernel_packets"] >= 6 and stats["capture"]["kernel_drops"] == 0
    assert stats["decoder"]["pkts"] == stats["capture"]["kernel_packets"]
    assert stats["detect"]["alert"] == 1 and stats["dpictl"]["workers"] == 1
    assert stats["dpictl"]["interfaces"][HOST_IF]["kernel_packets"] == \
        stats["capture"]["kernel_packets"]
    assert set(stats["flow"]) == {"total", "active", "timeout", "evicted"}
    packets = stats["capture"]["kernel_packets"]
    assert (f"capture: {packets:,} packets seen by the kernel, 0 dropped (0.00%), "
            f"{packets:,} inspected by 1 worker") in err
    leftover = subprocess.run(["pgrep", "-f", str(logs)], capture_output=True, text=True)
    assert leftover.stdout.strip() == ""
