"""The collector against the kernel: real connections forwarded by a node netns, counted by
the kernel's flow sets, whether they ended before the flush or are still open, agreeing with
conntrack's own accounting, never counted twice."""

from __future__ import annotations

import os
import socket
import subprocess
import time

import pytest
from pyroute2 import NFCTSocket

from dpictl.flowlogs import kernel_counters
from dpictl.flowlogs.collector import FlowCollector
from dpictl.flowlogs.store import FlowLogStore

from .node import mini_node, send_echo

pytestmark = [
    pytest.mark.skipif(os.geteuid() != 0, reason="needs root (network namespaces)"),
    pytest.mark.skipif(not kernel_counters.nft_available(),
                       reason="needs nft (apt-get install nftables)"),
]


@pytest.fixture
def node():
    with mini_node() as n:
        n.add_pod("blue1", "blue", "10.98.0.1", {"app": "blue1"})
        n.add_pod("blue2", "blue", "10.98.0.2", {"app": "blue2"})
        n.add_pod("red1", "red", "10.98.0.3", {"app": "red1"})
        yield n


def collector_for(node, out: list, **kw) -> FlowCollector:
    c = FlowCollector(node.netns, node.endpoints, out.extend, lambda: 300.0, host="node-1",
                      **kw)
    assert c.attach(), c.stats["error"]
    return c


def by_reporter(records):
    return {r.reporter: r for r in records}


def test_short_connections_gone_from_conntrack_before_the_flush_are_counted_once(node):
    out: list = []
    c = collector_for(node, out)
    server = node.echo_server("blue1", 80)
    try:
        for _ in range(3):
            node.exchange("blue2", "blue1", 80, b"x" * 1000)
        # Delete every entry, as the kernel does when a connection's timeout runs out: only
        # the DESTROY events still know about them.
        with NFCTSocket(netns=node.netns) as ct:
            ct.flush()
        time.sleep(0.1)
        records = c.flush()
        assert c.flush() == []                       # nothing counted twice
    finally:
        server.close()
        c.stop()
    assert {(r.source_name, r.dest_name, r.dest_port, r.proto) for r in records} == \
        {("blue2", "blue1", 80, "tcp")}
    src, dst = by_reporter(records)["src"], by_reporter(records)["dst"]
    assert src.num_flows == dst.num_flows == 3
    # src counts what blue2 sent as out; dst counts the same bytes as in.
    assert src.bytes_out == dst.bytes_in and src.packets_out == dst.packets_in
    assert src.bytes_in == dst.bytes_out
    assert 3000 < src.bytes_out < 3000 + 3 * 12 * 80     # payload plus TCP/IP headers
    assert 3000 < src.bytes_in < 3000 + 3 * 12 * 80
    assert src.source_namespace == "blue" and src.dest_labels == {"app": "blue1"}
    assert src.host == "node-1" and src.action == "allow"
    assert out == records


def test_a_long_connection_shows_its_delta_in_each_interval(node):
    out: list = []
    c = collector_for(node, out)
    server = node.echo_server("red1", 8080)
    sock = node.exchange("blue1", "red1", 8080, b"a" * 1000, close=False)
    try:
        first = by_reporter(c.flush())["src"]
        send_echo(sock, b"b" * 20000)
        second = by_reporter(c.flush())["src"]
        idle = c.flush()
    finally:
        sock.close()
        server.close()
        c.stop()
    assert first.num_flows == second.num_flows == 1
    assert 1000 < first.bytes_out < 1000 + 6 * 80
    assert 20000 < second.bytes_out < 20000 + 30 * 80        # only this interval's bytes
    assert second.start_time == first.end_time
    assert idle == []                                        # no traffic, no record
    assert (first.source_namespace, first.dest_namespace) == ("blue", "red")


def test_a_peer_that_is_no_workload_is_named_pvt_and_only_the_workload_reports(node):
    out: list = []
    c = collector_for(node, out)
    node.add_pod("ext", "outside", "10.98.0.9")
    node.pods.pop("ext")                      # plumbed, but not a workload of the cluster
    listener = node.socket_in("ext")
    listener.bind(("10.98.0.9", 9000))
    listener.listen(1)
    try:
        client = node.socket_in("blue2")
        client.settimeout(5)
        client.connect(("10.98.0.9", 9000))
        peer, _ = listener.accept()
        client.sendall(b"hello")
        assert peer.recv(10) == b"hello"
        client.close()
        peer.close()
        records = c.flush()
    finally:
        listener.close()
        c.stop()
    (record,) = records
    assert (record.reporter, record.source_name, record.dest_name, record.dest_namespace,
            record.dest_ip, record.dest_port) == ("src", "blue2", "pvt", "-", "10.98.0.9", 9000)


def test_the_thread_flushes_each_interval_into_the_store_and_on_request(node, tmp_path):
    db = tmp_path / "state" / "dpictl.db"
    store = FlowLogStore(db)
    flushes: list[dict] = []
    c = FlowCollector(node.netns, node.endpoints, store.write, lambda: 1.5, host="node-1",
                      on_flush=flushes.append, retry=0.2).start()
    assert c.attached.wait(10), c.stats
    server = node.echo_server("blue1", 80)
    try:
        node.exchange("blue2", "blue1", 80, b"q" * 100)
        deadline = time.monotonic() + 10
        while not store.query() and time.monotonic() < deadline:
            time.sleep(0.1)
        assert {r.reporter for r in store.query()} == {"src", "dst"}   # by the interval
        node.exchange("red1", "blue1", 80, b"r" * 100)
        before = len(flushes)
        c.request_flush()
        deadline = time.monotonic() + 5
        while len(flushes) == before and time.monotonic() < deadline:
            time.sleep(0.02)
        assert any(r.source_name == "red1" for r in store.query(namespace="red"))
    finally:
        server.close()
        c.stop()
        store.close()
    assert flushes[-1]["error"] is None and flushes[-1]["cpu_seconds"] > 0


def test_a_flush_request_file_is_answered_without_a_signal(node, tmp_path):
    """Another process (run-lab) asks through a file: the thread takes it within a second
    or so, whichever thread a signal would have reached."""
    request = tmp_path / "flowlogs.flush"
    flushes: list[dict] = []
    out: list = []
    c = FlowCollector(node.netns, node.endpoints, out.extend, lambda: 300.0,
                      on_flush=flushes.append, retry=0.2, flush_file=request).start()
    assert c.attached.wait(10), c.stats
    server = node.echo_server("blue1", 80)
    try:
        node.exchange("blue2", "blue1", 80, b"q" * 100)
        request.write_text("now\n")
        deadline = time.monotonic() + 5
        while not flushes and time.monotonic() < deadline:
            time.sleep(0.02)
        assert flushes, "the request file was not answered"
        assert not request.exists()                      # taken: one request, one flush
        assert {(r.source_name, r.dest_name) for r in out} == {("blue2", "blue1")}
    finally:
        server.close()
        c.stop()


def test_the_collector_waits_for_the_netns_and_counts_again_in_a_replaced_one(tmp_path):
    out: list = []
    pods: list = []
    c = FlowCollector("flowlogs-node", lambda: pods, out.extend, lambda: 300.0)
    assert not c.attach()                    # no node netns yet: nothing, no error raised
    with mini_node() as node:
        node.add_pod("a", "ns", "10.98.0.1")
        node.add_pod("b", "ns", "10.98.0.2")
        pods[:] = node.endpoints()
        assert c.attach()
        server = node.echo_server("a", 80)
        node.exchange("b", "a", 80, b"1" * 10)
        server.close()
        assert {(r.source_name, r.dest_name) for r in c.flush()} == {("b", "a")}
    with mini_node() as node:                # lab down, lab up: a new netns of that name
        node.add_pod("c", "ns", "10.98.0.3")
        node.add_pod("a", "ns", "10.98.0.1")
        pods[:] = node.endpoints()
        assert c.attach()
        server = node.echo_server("a", 80)
        node.exchange("c", "a", 80, b"2" * 10)
        server.close()
        assert {(r.source_name, r.dest_name) for r in c.flush()} == {("c", "a")}
    c.stop()


def test_a_restarted_collector_does_not_report_what_the_last_one_did(node):
    first: list = []
    c = collector_for(node, first)
    server = node.echo_server("blue1", 80)
    try:
        node.exchange("blue2", "blue1", 80, b"x" * 500)
        c.stop()                             # the agent stops: flushed
        second: list = []
        again = collector_for(node, second)  # a new agent, same kernel counters
        assert again.flush() == []
        node.exchange("red1", "blue1", 80, b"y" * 500)
        records = again.flush()
    finally:
        server.close()
    assert {(r.source_name, r.reporter) for r in first} == {("blue2", "src"), ("blue2", "dst")}
    assert {(r.source_name, r.reporter) for r in records} == {("red1", "src"), ("red1", "dst")}


def test_the_counts_are_conntracks_own_and_icmp_has_no_port(node):
    """The sets count what conntrack's accounting counts, connection by connection."""
    out: list = []
    c = collector_for(node, out)
    server = node.echo_server("blue1", 80)
    keep = node.exchange("blue2", "blue1", 80, b"z" * 3000, close=False)
    send_echo(keep, b"w" * 7000)
    ping = subprocess.run(["ip", "netns", "exec", "flowlogs-red1", "ping", "-c", "3", "-i",
                           "0.2", "-W", "1", "10.98.0.1"], capture_output=True, text=True)
    assert ping.returncode == 0, ping.stderr
    try:
        with NFCTSocket(netns=node.netns) as ct:
            entries = list(ct.dump())
        records = c.flush()
    finally:
        keep.close()
        server.close()
        c.stop()
    (tcp,) = [e for e in entries
              if e.get_attr("CTA_TUPLE_ORIG").get_attr("CTA_TUPLE_PROTO").get_attr(
                  "CTA_PROTO_NUM") == 6]
    orig, reply = tcp.get_attr("CTA_COUNTERS_ORIG"), tcp.get_attr("CTA_COUNTERS_REPLY")
    src = by_reporter([r for r in records if r.proto == "tcp"])["src"]
    assert (src.packets_out, src.bytes_out, src.packets_in, src.bytes_in) == (
        orig.get_attr("CTA_COUNTERS_PACKETS"), orig.get_attr("CTA_COUNTERS_BYTES"),
        reply.get_attr("CTA_COUNTERS_PACKETS"), reply.get_attr("CTA_COUNTERS_BYTES"))
    assert src.bytes_out > 10000
    icmp = by_reporter([r for r in records if r.proto == "icmp"])
    assert (icmp["src"].source_name, icmp["src"].dest_name, icmp["src"].dest_port) == \
        ("red1", "blue1", 0)
    assert icmp["src"].packets_out == icmp["dst"].packets_in == 3
    assert icmp["src"].num_flows == 1


def test_the_netlink_reader_reads_what_nft_lists(node):
    """The sets are read over nfnetlink by hand, for speed; `nft -j` is the reference."""
    kernel_counters.enable_accounting(node.netns)
    server = node.echo_server("blue1", 80)
    node.exchange("blue2", "blue1", 80, b"a" * 2000)
    node.exchange("red1", "blue1", 80, b"b" * 20)
    server.close()
    udp = node.socket_in("red1", socket.SOCK_DGRAM)
    for port in range(5300, 5500):                     # 200 keys, answered by ICMP errors
        udp.sendto(b"d", ("10.98.0.2", port))
    udp.close()
    subprocess.run(["ip", "netns", "exec", "flowlogs-blue2", "ping", "-c", "2", "-i", "0.2",
                    "10.98.0.3"], capture_output=True, check=True)
    time.sleep(0.2)
    ours = sorted(kernel_counters.read_counters(node.netns), key=lambda c: c.key)
    reference = sorted(kernel_counters.read_counters_nft(node.netns), key=lambda c: c.key)
    assert ours == reference
    assert len(ours) >= 203
    assert {c.proto for c in ours} == {"tcp", "udp", "icmp"}
    (tcp,) = [c for c in ours if c.key == ("10.98.0.2", "10.98.0.1", "tcp", 80)]
    assert tcp.started == 1 and tcp.bytes_orig > 2000 and tcp.bytes_reply > 2000


def test_a_first_collector_reports_what_the_kernel_counted_before_it_started(node):
    kernel_counters.enable_accounting(node.netns)       # as the backend does with its node
    server = node.echo_server("blue1", 80)
    try:
        node.exchange("blue2", "blue1", 80, b"early" * 100)
    finally:
        server.close()
    out: list = []
    c = collector_for(node, out, counted_before=lambda inode: False)
    records = c.flush()
    c.stop()
    (src,) = [r for r in records if r.reporter == "src"]
    assert (src.source_name, src.dest_name, src.num_flows) == ("blue2", "blue1", 1)
    assert src.bytes_out > 500
