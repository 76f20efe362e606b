"""The workload graph: folding flow logs and alerts into nodes and edges."""

from __future__ import annotations

from dataclasses import replace

from dpictl.graph import build_graph
from tests.graph.factories import OUTSIDE, RED1, RED2, alert, flow, lab_alerts, lab_flows


def test_lab_alerts_alone_fold_into_three_edges() -> None:
    g = build_graph(lab_alerts() + [alert(OUTSIDE, RED2, sid=254)])
    assert set(g.nodes) == {"red/red1", "red/red2", "blue/blue1", "blue/blue2", "203.0.113.9"}
    assert len(g.edges) == 4
    assert g.edges[("red/red1", "red/red2")].alerts == 2
    assert g.edges[("red/red1", "red/red2")].seen_on == {"red/red1", "red/red2"}
    assert g.alerts_from("red/red1") == 3 and g.alerts_to("red/red2") == 4
    assert g.inspected == {"red/red1", "red/red2"}
    assert g.namespaces == ["blue", "red"]
    assert g.edges[("red/red1", "red/red2")].flows == 0


def test_lab_flows_and_alerts_draw_all_four_requests() -> None:
    g = build_graph(lab_alerts(), lab_flows())
    assert set(g.edges) == {("red/red1", "red/red2"), ("red/red1", "blue/blue1"),
                            ("blue/blue2", "red/red2"), ("blue/blue2", "blue/blue1")}
    quiet = g.edges[("blue/blue2", "blue/blue1")]
    assert quiet.alerts == 0 and quiet.sids == [] and quiet.flows == 1
    assert [e.sids for k, e in sorted(g.edges.items()) if e.alerts] == [[21562]] * 3
    assert g.nodes["blue/blue2"].ip == "10.0.0.4"


def test_both_reporters_of_one_connection_count_once_and_orient_to_the_request() -> None:
    # Felix on both ends reports the same connection; the source counts its requests as
    # out, the destination as in. Both must land on forward, and not be added up.
    g = build_graph(flows=[flow(RED1, RED2, reporter="src"), flow(RED1, RED2, reporter="dst")])
    traffic = g.edges[("red/red1", "red/red2")].traffic
    assert (traffic.flows, traffic.packets_forward, traffic.bytes_forward) == (1, 5, 420)
    assert (traffic.packets_back, traffic.bytes_back) == (4, 310)
    assert ("red/red2", "red/red1") not in g.edges


def test_a_reporter_that_missed_an_interval_does_not_hide_the_others_count() -> None:
    g = build_graph(flows=[flow(RED1, RED2, reporter="src", flows=2),
                           flow(RED1, RED2, reporter="src", flows=1),
                           flow(RED1, RED2, reporter="dst", flows=2)])
    assert g.edges[("red/red1", "red/red2")].flows == 3


def test_an_alert_on_a_response_joins_its_connections_edge() -> None:
    # flow:to_client rules fire on the server's answer: red2 → red1 on the wire.
    g = build_graph([alert(RED2, RED1, sport=80, dport=40000, sid=2000)],
                    [flow(RED1, RED2)])
    assert set(g.edges) == {("red/red1", "red/red2")}
    assert g.edges[("red/red1", "red/red2")].sids == [2000]


def test_connections_opened_each_way_are_two_edges() -> None:
    g = build_graph([alert(RED2, RED1, sid=7)], [flow(RED1, RED2), flow(RED2, RED1, port=53)])
    assert g.edges[("red/red2", "red/red1")].alerts == 1
    assert g.edges[("red/red1", "red/red2")].alerts == 0
    assert g.edges[("red/red2", "red/red1")].ports == {("tcp", 53)}


def test_non_workloads_are_keyed_by_address_or_by_calicos_pub_pvt() -> None:
    # Calico writes "-" for what is not there, and aggregates outside addresses to "pub".
    aggregated = replace(flow(("", "", "-"), RED2), source_name="pub")
    g = build_graph(flows=[flow(OUTSIDE, RED2), aggregated])
    assert {"203.0.113.9", "pub", "red/red2"} == set(g.nodes)
    assert g.nodes["203.0.113.9"].namespace == "" and g.nodes["pub"].ip == ""


def test_to_dict_names_ports_signatures_and_endpoints() -> None:
    data = build_graph(lab_alerts(), lab_flows()).to_dict()
    assert [n["key"] for n in data["nodes"] if n["inspected"]] == ["red/red1", "red/red2"]
    edge = next(e for e in data["edges"] if (e["source"], e["dest"]) == ("red/red1", "red/red2"))
    assert edge["ports"] == ["tcp/80"] and edge["flows"] == 1 and edge["alerts"] == 2
    assert edge["signatures"] == [{"sid": 21562, "count": 2, "signature":
                                   "MALWARE-CNC Win.Trojan.Bredolab variant outbound connection"}]
    assert edge["seen_on"] == ["red/red1", "red/red2"]


def test_alerting_only_keeps_alerting_edges_in_their_connections_direction() -> None:
    g = build_graph(lab_alerts() + [alert(RED2, RED1, sport=80, dport=40000, sid=2000)],
                    lab_flows()).alerting_only()
    assert set(g.edges) == {("red/red1", "red/red2"), ("red/red1", "blue/blue1"),
                            ("blue/blue2", "red/red2")}
    assert g.edges[("red/red1", "red/red2")].sids == [2000, 21562]
    assert set(g.nodes) == {"red/red1", "red/red2", "blue/blue1", "blue/blue2"}
    assert g.inspected == {"red/red1", "red/red2"}


def test_an_alert_that_knows_only_addresses_joins_the_workloads_the_flows_name() -> None:
    # `inspect --pcap` alerts carry IPs only; the flow logs say whose they are.
    bare = alert(("", "", RED1[2]), ("", "", RED2[2]))
    g = build_graph([bare, alert(OUTSIDE, RED2)], [flow(RED1, RED2)])
    assert set(g.edges) == {("red/red1", "red/red2"), ("203.0.113.9", "red/red2")}
    assert g.edges[("red/red1", "red/red2")].alerts == 1
    assert set(build_graph([bare]).nodes) == {"10.0.0.1", "10.0.0.2"}
