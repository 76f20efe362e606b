"""The aggregator on counters given by hand: deltas per interval, keys that expire and come
back, who reports, Calico's in/out per reporter and its names for non-workloads."""

from __future__ import annotations

from dpictl.flowlogs.aggregator import FlowAggregator, network_peer, workload_peer
from dpictl.flowlogs.kernel_counters import KeyCounters

PODS = {"10.0.0.1": workload_peer("blue1", "blue", {"app": "blue1",
                                                    "projectcalico.org/namespace": "blue"}),
        "10.0.0.2": workload_peer("blue2", "blue", {"app": "blue2"}),
        "10.0.0.3": workload_peer("red9", "red", {"app": "red9"}, local=False)}


def resolve(ip: str):
    return PODS.get(ip) or network_peer(ip)


def counters(src="10.0.0.2", dst="10.0.0.1", proto="tcp", port=80, po=0, bo=0, pr=0, br=0,
             started=0) -> KeyCounters:
    return KeyCounters(src, dst, proto, port, po, bo, pr, br, started)


def test_each_interval_gets_only_its_own_counts_and_idle_keys_no_record():
    agg = FlowAggregator(resolve, host="n1")
    agg.observe([counters(po=10, bo=1000, pr=8, br=5000, started=2)])
    first = {r.reporter: r for r in agg.flush(0.0, 30.0)}
    agg.observe([counters(po=15, bo=1600, pr=10, br=5200, started=2)])
    second = {r.reporter: r for r in agg.flush(30.0, 60.0)}
    agg.observe([counters(po=15, bo=1600, pr=10, br=5200, started=2)])
    assert agg.flush(60.0, 90.0) == []
    src, dst = first["src"], first["dst"]
    assert (src.packets_out, src.bytes_out, src.packets_in, src.bytes_in) == (10, 1000, 8, 5000)
    assert (dst.packets_in, dst.bytes_in, dst.packets_out, dst.bytes_out) == (10, 1000, 8, 5000)
    assert src.num_flows == 2 and src.host == "n1" and src.dest_labels == {"app": "blue1"}
    assert (second["src"].bytes_out, second["src"].bytes_in) == (600, 200)
    assert second["src"].num_flows == 1              # still open: counted once
    assert (second["src"].start_time, second["src"].end_time) == (30.0, 60.0)


def test_a_key_that_expired_and_came_back_counts_from_zero():
    agg = FlowAggregator(resolve)
    agg.observe([counters(po=100, bo=10000, started=5)])
    agg.flush(0, 1)
    agg.observe([])                                  # expired from the sets
    agg.observe([counters(po=3, bo=300, started=1)])  # back, counters restarted
    (src,) = [r for r in agg.flush(1, 2) if r.reporter == "src"]
    assert (src.packets_out, src.bytes_out, src.num_flows) == (3, 300, 1)


def test_baseline_is_not_reported_again():
    agg = FlowAggregator(resolve)
    agg.baseline([counters(po=50, bo=5000, started=4)])
    agg.observe([counters(po=52, bo=5200, started=4)])
    (src,) = [r for r in agg.flush(0, 1) if r.reporter == "src"]
    assert (src.packets_out, src.bytes_out) == (2, 200)


def test_only_workloads_of_this_node_report_and_others_are_named_as_calico_does():
    agg = FlowAggregator(resolve)
    agg.observe([counters(src="10.0.0.2", dst="8.8.8.8", proto="udp", port=53, po=1, bo=70),
                 counters(src="192.168.1.5", dst="10.0.0.1", po=1, bo=60),
                 counters(src="10.0.0.3", dst="10.0.0.1", po=1, bo=60),
                 counters(src="192.168.1.5", dst="8.8.8.8", po=1, bo=60)])
    seen = {(r.source_name, r.source_namespace, r.dest_name, r.dest_namespace, r.reporter)
            for r in agg.flush(0, 1)}
    assert seen == {("blue2", "blue", "pub", "-", "src"),       # public peer
                    ("pvt", "-", "blue1", "blue", "dst"),        # private peer
                    ("red9", "red", "blue1", "blue", "dst")}     # red9 is on another node
