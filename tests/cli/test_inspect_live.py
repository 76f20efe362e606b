"""`dpictl inspect --interface` on a real veth: a client netns posts the lab request to an
HTTP server in the peer netns, and the alert appears while capture runs; Ctrl-C ends it with
the summary and exit 0. Netns and links are prefixed `dalr` and always removed."""

from __future__ import annotations

import json
import os
import signal
import subprocess
import sys
import time

import pytest

pytestmark = [pytest.mark.root]

SERVER = r"""
import http.server, sys
class H(http.server.BaseHTTPRequestHandler):
    def do_POST(self):
        self.rfile.read(int(self.headers.get("Content-Length") or 0))
        self.send_response(200); self.send_header("Content-Length", "2"); self.end_headers()
        self.wfile.write(b"ok")
    def log_message(self, *a): pass
http.server.HTTPServer((sys.argv[1], 80), H).serve_forever()
"""


def sh(*argv: str, check: bool = True) -> subprocess.CompletedProcess:
    return subprocess.run(argv, capture_output=True, text=True, check=check, timeout=30)


@pytest.fixture
def veth_pair():
    """netns dalr<pid>c (10.99.7.1, iface dalr<pid>c) <-> dalr<pid>s (10.99.7.2, HTTP :80)."""
    tag = f"dalr{os.getpid() % 100000}"
    cns, sns, cif, sif = f"{tag}c", f"{tag}s", f"{tag}c", f"{tag}s"
    server = None
    try:
        sh("ip", "netns", "add", cns)
        sh("ip", "netns", "add", sns)
        sh("ip", "link", "add", cif, "netns", cns, "type", "veth", "peer", "name", sif,
           "netns", sns)
        for ns, ifname, addr in ((cns, cif, "10.99.7.1/24"), (sns, sif, "10.99.7.2/24")):
            sh("ip", "-n", ns, "addr", "add", addr, "dev", ifname)
            sh("ip", "-n", ns, "link", "set", ifname, "up")
            sh("ip", "-n", ns, "link", "set", "lo", "up")
            # Offloads off so captured frames are real-sized with real checksums.
            subprocess.run(["ip", "netns", "exec", ns, "ethtool", "-K", ifname, "tx", "off",
                            "gso", "off", "gro", "off", "tso", "off"], capture_output=True)
        server = subprocess.Popen(["ip", "netns", "exec", sns, sys.executable, "-c", SERVER,
                                   "10.99.7.2"])
        yield cns, cif
    finally:
        if server is not None:
            server.terminate()
            server.wait(timeout=10)
        sh("ip", "netns", "del", cns, check=False)
        sh("ip", "netns", "del", sns, check=False)


def _lab_request(ns: str) -> None:
    sh("ip", "netns", "exec", ns, "curl", "-s", "-m", "3", "http://10.99.7.2:80",
       "-H", "User-Agent: Mozilla/4.0", "-XPOST", "--data-raw", "smk=1234", check=False)


def test_live_capture_on_veth_raises_the_lab_alert(veth_pair, tmp_path):
    ns, ifname = veth_pair
    db = tmp_path / "d.db"
    proc = subprocess.Popen(
        [sys.executable, "-m", "dpictl", "inspect", "--interface", ifname, "--netns", ns,
         "-o", "eve", "--db", str(db)],
        stdout=subprocess.PIPE, stderr=subprocess.PIPE, text=True)
    try:
        first = proc.stderr.readline()            # "capturing on ..." once the socket is up
        assert first.startswith("capturing on"), first + proc.stderr.read()
        os.set_blocking(proc.stdout.fileno(), False)
        got = ""
        deadline = time.monotonic() + 30
        while time.monotonic() < deadline and '"signature_id"' not in got:
            _lab_request(ns)
            time.sleep(0.5)
            got += proc.stdout.read() or ""
        proc.send_signal(signal.SIGINT)
        rest, err = proc.communicate(timeout=30)
    finally:
        if proc.poll() is None:
            proc.kill()
            proc.wait()
    lines = [json.loads(x) for x in (got + (rest or "")).splitlines() if x.strip()]
    events = [e for e in lines if e["event_type"] == "alert"]
    assert events, f"no alert while capturing; stderr: {err}"
    # the last line is the final stats event, and its counts add up exactly
    final = lines[-1]["stats"]
    assert lines[-1]["event_type"] == "stats"
    capture = final["capture"]
    assert capture["kernel_packets"] > 0
    assert (capture["kernel_packets"] - capture["kernel_drops"] - capture["discarded"]
            == final["decoder"]["pkts"])
    assert final["detect"]["alert"] == len(events)
    assert final["dpictl"]["interfaces"][ifname]["kernel_packets"] == capture["kernel_packets"]
    ev = events[0]
    assert (ev["src_ip"], ev["dest_ip"], ev["dest_port"]) == ("10.99.7.1", "10.99.7.2", 80)
    assert ev["in_iface"] == ifname
    assert proc.returncode == 0, err
    assert "Traceback" not in err
    assert " alert" in err.strip().splitlines()[-1]            # the summary line
    listed = subprocess.run([sys.executable, "-m", "dpictl", "alerts", "list", "-o", "json",
                             "--db", str(db)], capture_output=True, text=True, timeout=60)
    assert len(json.loads(listed.stdout)) == len(events)


def test_missing_interface_is_one_line(tmp_path):
    out = subprocess.run([sys.executable, "-m", "dpictl", "inspect", "--interface",
                          "dalrnosuch0", "--db", str(tmp_path / "d.db")],
                         capture_output=True, text=True, timeout=60)
    assert out.returncode != 0
    assert len(out.stderr.strip().splitlines()) == 1 and "Traceback" not in out.stderr


def test_missing_netns_is_one_line(tmp_path):
    out = subprocess.run([sys.executable, "-m", "dpictl", "inspect", "--interface", "lo",
                          "--netns", "dalrnosuchns", "--db", str(tmp_path / "d.db")],
                         capture_output=True, text=True, timeout=60)
    assert out.returncode == 5
    assert out.stderr.strip().splitlines() == [out.stderr.strip()]
    assert "dalrnosuchns" in out.stderr


def test_without_cap_net_raw_is_one_line_permission_error(tmp_path):
    """Root without CAP_NET_RAW (dropped from the bounding set) is refused like a user."""
    import shutil

    if shutil.which("setpriv") is None:
        pytest.skip("setpriv (util-linux) not installed")
    out = subprocess.run(["setpriv", "--bounding-set=-net_raw,-net_admin,-sys_admin",
                          sys.executable, "-m", "dpictl", "inspect", "--interface", "lo",
                          "--db", str(tmp_path / "d.db")],
                         capture_output=True, text=True, timeout=60)
    assert out.returncode == 4, out.stderr
    assert out.stderr.strip().splitlines() == [out.stderr.strip()]
    assert "CAP_NET_RAW" in out.stderr and "Traceback" not in out.stderr
