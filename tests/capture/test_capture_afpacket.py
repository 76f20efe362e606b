"""Live capture on veths between two network namespaces (needs root).

Topology, created per test and always deleted: netns dcap-a<pid> and dcap-b<pid>, linked by
dcap0 (10.231.0.1, in a) <-> dcap1 (10.231.0.2, in b), and a second link dcap2 (10.231.1.1, in a)
<-> dcap3 (10.231.1.2, in b). Traffic is made by real processes (`ip netns exec`).
"""

from __future__ import annotations

import os
import subprocess
import sys
import threading
import time

import pytest

from dpictl.capture import AfPacketSource
from dpictl.engine.decode import Decoder
from dpictl.errors import NotFound

pytestmark = pytest.mark.root

PY = sys.executable
SERVER = r"""
import socket, sys
udp = socket.socket(socket.AF_INET, socket.SOCK_DGRAM); udp.bind(("0.0.0.0", 9999))
tcp = socket.socket(); tcp.setsockopt(socket.SOL_SOCKET, socket.SO_REUSEADDR, 1)
tcp.bind(("0.0.0.0", 8080)); tcp.listen(1)
print("ready", flush=True)
udp.settimeout(10); udp.recvfrom(100)
tcp.settimeout(10); conn, _ = tcp.accept(); conn.recv(100); conn.sendall(b"dcap-tcp-pong")
conn.close()
"""
CLIENT = r"""
import socket, sys
host = sys.argv[1]
socket.socket(socket.AF_INET, socket.SOCK_DGRAM).sendto(b"dcap-udp-hello", (host, 9999))
c = socket.create_connection((host, 8080), timeout=10); c.sendall(b"dcap-tcp-ping")
assert c.recv(100) == b"dcap-tcp-pong"; c.close()
"""


def ip(*args: str) -> None:
    subprocess.run(["ip", *args], check=True, capture_output=True)


@pytest.fixture()
def namespaces():
    suffix = str(os.getpid() % 100000)
    a, b = f"dcap-a{suffix}", f"dcap-b{suffix}"
    try:
        ip("netns", "add", a)
        ip("netns", "add", b)
        for n, (left, right) in enumerate((("dcap0", "dcap1"), ("dcap2", "dcap3"))):
            ip("link", "add", left, "netns", a, "type", "veth", "peer", "name", right, "netns", b)
            ip("-n", a, "addr", "add", f"10.231.{n}.1/24", "dev", left)
            ip("-n", b, "addr", "add", f"10.231.{n}.2/24", "dev", right)
            ip("-n", a, "link", "set", left, "up")
            ip("-n", b, "link", "set", right, "up")
        ip("-n", a, "link", "set", "lo", "up")
        ip("-n", b, "link", "set", "lo", "up")
        yield a, b
    finally:
        for name in (a, b):
            subprocess.run(["ip", "netns", "del", name], capture_output=True)


def exchange(a: str, b: str, host: str = "10.231.0.2") -> None:
    """A UDP datagram and a TCP request/response from netns a to a server in netns b."""
    server = subprocess.Popen(["ip", "netns", "exec", b, PY, "-c", SERVER],
                              stdout=subprocess.PIPE, text=True)
    try:
        assert server.stdout.readline().strip() == "ready"
        subprocess.run(["ip", "netns", "exec", a, PY, "-c", CLIENT, host], check=True,
                       timeout=20)
        assert server.wait(timeout=20) == 0
    finally:
        server.kill()


def collect(source: AfPacketSource, until: float, want=lambda pkts: False) -> list:
    decoder, packets = Decoder(), []
    while time.monotonic() < until and not want(packets):
        for ts, frame, linktype, iface in source.read(0.2):
            pkt = decoder.decode(ts, frame, linktype, iface)
            if pkt is not None:
                packets.append(pkt)
    return packets


def _has_both_directions(pkts) -> bool:
    payloads = {(p.src, p.payload) for p in pkts}
    return {("10.231.0.1", b"dcap-udp-hello"), ("10.231.0.1", b"dcap-tcp-ping"),
            ("10.231.0.2", b"dcap-tcp-pong")} <= payloads


def test_captures_udp_and_tcp_in_both_directions(namespaces):
    a, b = namespaces
    with AfPacketSource(["dcap0"], netns=a) as source:
        started = time.time()
        traffic = threading.Thread(target=exchange, args=(a, b))
        traffic.start()
        pkts = collect(source, time.monotonic() + 15, _has_both_directions)
        traffic.join()
        stats = source.stats()
    assert _has_both_directions(pkts)
    udp = next(p for p in pkts if p.payload == b"dcap-udp-hello")
    assert (udp.ip_proto, udp.dport, udp.dst, udp.iface, udp.linktype) == (17, 9999, "10.231.0.2",
                                                                          "dcap0", 1)
    flags = {(p.src, p.tcp_flags & 0x12) for p in pkts if p.ip_proto == 6}
    assert ("10.231.0.1", 0x02) in flags and ("10.231.0.2", 0x12) in flags   # SYN, SYN-ACK
    assert all(started - 1 < p.ts < time.time() + 1 for p in pkts)           # ring timestamps
    assert stats["dcap0"]["kernel_packets"] >= len(pkts) and stats["dcap0"]["kernel_drops"] == 0


BURST = ("import socket\n"
         "s = socket.socket(socket.AF_INET, socket.SOCK_DGRAM)\n"
         "for i in range({n}):\n"
         "    s.sendto(b'dcap-burst' * 100, ('10.231.0.2', 9))\n")


def test_counts_add_up_exactly_after_quiesce(namespaces):
    """Everything the kernel counted is either read or counted as dropped: with a small ring
    that nobody reads during a burst, drops are real, and read + drops == kernel packets."""
    a, _ = namespaces
    with AfPacketSource(["dcap0"], netns=a, block_size=1 << 16, block_count=2,
                        outgoing=True) as source:
        subprocess.run(["ip", "netns", "exec", a, PY, "-c", BURST.format(n=3000)], check=True,
                       timeout=30)
        read = len(source.read(0.5))
        read += len(source.quiesce())
        # sent after quiesce: neither read nor counted
        subprocess.run(["ip", "netns", "exec", a, PY, "-c", BURST.format(n=50)], check=True,
                       timeout=30)
        read += len(source.read(0.3))
        stats = source.stats()["dcap0"]
    assert stats["kernel_drops"] > 0                       # the small ring overflowed
    assert read + stats["kernel_drops"] + stats["discarded"] == stats["kernel_packets"]
    assert stats["kernel_packets"] >= 3000


def test_removed_interface_keeps_its_counts(namespaces):
    a, _ = namespaces
    with AfPacketSource(["dcap0", "dcap2"], netns=a) as source:
        subprocess.run(["ip", "netns", "exec", a, PY, "-c", BURST.format(n=20)], check=True,
                       timeout=30)
        collect(source, time.monotonic() + 0.5)
        assert source.remove("dcap0")
        stats = source.stats()
    assert stats["dcap0"]["kernel_packets"] >= 20 and "dcap2" in stats


def test_loopback_packets_are_seen_once(namespaces):
    a, _ = namespaces
    send = ("import socket\n"
            "socket.socket(socket.AF_INET, socket.SOCK_DGRAM).sendto(b'dcap-lo', ('127.0.0.1', 9))")
    with AfPacketSource(["lo"], netns=a) as source:
        subprocess.run(["ip", "netns", "exec", a, PY, "-c", send], check=True, timeout=20)
        pkts = collect(source, time.monotonic() + 2)
    assert [p.payload for p in pkts if p.ip_proto == 17] == [b"dcap-lo"]


def test_missing_interface_and_namespace_are_not_found(namespaces):
    a, _ = namespaces
    with pytest.raises(NotFound, match=f"interface nosuch0 not found in network namespace {a}"):
        AfPacketSource(["nosuch0"], netns=a)
    with pytest.raises(NotFound, match="network namespace dcap-none not found"):
        AfPacketSource(["dcap0"], netns="dcap-none")
    with pytest.raises(NotFound) as err:
        AfPacketSource(["dcap0"])            # it lives in netns a, not here
    assert "ip link" in err.value.hint


def test_deleted_interface_does_not_stop_the_others(namespaces):
    a, b = namespaces
    reported: list[str] = []
    with AfPacketSource(["dcap0", "dcap2"], netns=a, on_vanished=reported.append) as source:
        assert sorted(source.ifaces) == ["dcap0", "dcap2"]
        ip("-n", a, "link", "del", "dcap2")
        deadline = time.monotonic() + 5
        while "dcap2" not in source.vanished and time.monotonic() < deadline:
            source.read(0.2)
        assert source.vanished == reported == ["dcap2"] and source.ifaces == ["dcap0"]
        traffic = threading.Thread(target=exchange, args=(a, b))
        traffic.start()
        pkts = collect(source, time.monotonic() + 15, _has_both_directions)
        traffic.join()
    assert _has_both_directions(pkts)


def test_add_remove_and_stop_from_another_thread(namespaces):
    a, b = namespaces
    source = AfPacketSource([], netns=a)
    records: list = []
    reader = threading.Thread(target=lambda: records.extend(source))
    reader.start()
    source.add("dcap2")
    assert source.ifaces == ["dcap2"]
    exchange(a, b, host="10.231.1.2")
    deadline = time.monotonic() + 5
    while not any(b"dcap-tcp-pong" in f for _, f, _, _ in list(records)):
        assert time.monotonic() < deadline, "traffic on the added interface was not captured"
        time.sleep(0.05)
    assert source.remove("dcap2") and not source.remove("dcap2")
    assert source.ifaces == []
    source.stop()
    reader.join(timeout=5)
    assert not reader.is_alive()
    assert {iface for _, _, _, iface in records} == {"dcap2"}
    source.close()


def test_read_times_out_empty(namespaces):
    a, _ = namespaces
    with AfPacketSource(["dcap0"], netns=a, outgoing=False) as source:
        started = time.monotonic()
        while source.read(0.3):            # IPv6 router solicitations may trickle in
            pass
        assert time.monotonic() - started < 5


def test_without_cap_net_raw_is_permission_denied():
    code = ("from dpictl.capture import AfPacketSource\n"
            "from dpictl.errors import PermissionDenied\n"
            "try:\n AfPacketSource(['lo'])\nexcept PermissionDenied as e:\n print('denied', e)")
    out = subprocess.run(["setpriv", "--inh-caps=-net_raw", "--bounding-set=-net_raw", PY, "-c",
                          code], capture_output=True, text=True, timeout=30)
    assert out.stdout.startswith("denied live capture needs root or CAP_NET_RAW"), out.stderr


def test_ctrl_c_stops_iteration_and_closes_the_rings():
    code = ("import sys\nfrom dpictl.capture import AfPacketSource\n"
            "src = AfPacketSource(['lo'])\nprint('ready', flush=True)\n"
            "try:\n for _ in src: pass\nexcept KeyboardInterrupt:\n"
            " print('stopped', src.ifaces, flush=True)\n")
    proc = subprocess.Popen([PY, "-c", code], stdout=subprocess.PIPE, text=True)
    try:
        assert proc.stdout.readline().strip() == "ready"
        time.sleep(0.2)
        proc.send_signal(2)
        assert proc.stdout.readline().strip() == "stopped []"
        assert proc.wait(timeout=10) == 0
    finally:
        proc.kill()


def test_fanout_group_splits_flows_between_sources(namespaces):
    a, b = namespaces
    send = ("import socket\n"
            "for port in range(20000, 20040):\n"
            "    s = socket.socket(socket.AF_INET, socket.SOCK_DGRAM); s.bind(('', port))\n"
            "    s.sendto(b'dcap-fan', ('10.231.0.2', 9))\n")
    group = os.getpid() & 0xFFFF
    with AfPacketSource(["dcap0"], netns=a, fanout_group=group) as one, \
            AfPacketSource(["dcap0"], netns=a, fanout_group=group) as two:
        subprocess.run(["ip", "netns", "exec", a, PY, "-c", send], check=True, timeout=20)
        got = [{p.sport for p in collect(src, time.monotonic() + 1) if p.payload == b"dcap-fan"}
               for src in (one, two)]
    assert got[0] | got[1] == set(range(20000, 20040))
    assert not got[0] & got[1] and got[0] and got[1]


def test_one_fanout_group_spans_several_interfaces(namespaces):
    """A fanout group binds one device; the same dpictl group on two interfaces must give each
    its own kernel group (it used to fail with EINVAL on the second interface)."""
    a, _ = namespaces
    group = (os.getpid() + 7) & 0xFFFF
    with AfPacketSource(["dcap0", "dcap2"], netns=a, fanout_group=group) as one, \
            AfPacketSource(["dcap0", "dcap2"], netns=a, fanout_group=group) as two:
        assert sorted(one.ifaces) == sorted(two.ifaces) == ["dcap0", "dcap2"]

