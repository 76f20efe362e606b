"""EVE and Calico record shapes: keys and types exactly, since other tools parse them."""

from __future__ import annotations

import json

from dpictl.alerts.calico_event import calico_event_id, to_calico
from dpictl.alerts.eve import eve_line, to_eve
from dpictl.alerts.record import DPI_DESCRIPTION

from .factories import make_alert


def test_eve_tcp_shape():
    alert = make_alert(id=5, extra={"flow_id": 346589526})
    eve = to_eve(alert)
    assert list(eve) == ["timestamp", "flow_id", "in_iface", "pcap_cnt", "event_type", "src_ip",
                         "src_port", "dest_ip", "dest_port", "proto", "app_proto", "alert",
                         "dpictl"]
    assert eve["timestamp"] == "2023-11-14T22:13:20.001100+0000"
    assert eve["event_type"] == "alert"
    assert (eve["src_ip"], eve["src_port"], eve["dest_ip"], eve["dest_port"]) == (
        "10.244.1.10", 43512, "10.244.1.11", 80)
    assert eve["proto"] == "TCP" and eve["app_proto"] == "http"
    assert eve["flow_id"] == 346589526 and eve["in_iface"] == "cali08ce55c424a"
    assert eve["alert"] == {
        "action": "allowed", "gid": 1, "signature_id": 21562, "rev": 6,
        "signature": "MALWARE-CNC Win.Trojan.Bredolab variant outbound connection",
        "category": "A Network Trojan was detected", "severity": 1}
    part = eve["dpictl"]
    assert part["origin"] == "dpi.red/red-dpi-all" and part["host"] == "node1"
    assert part["id"] == 5
    assert part["endpoint"] == {"name": "red1", "namespace": "red",
                                "interface": "cali08ce55c424a", "role": "source"}
    assert (part["source_name"], part["dest_namespace"]) == ("red1", "red")
    assert json.loads(eve_line(alert)) == eve
    assert "\n" not in eve_line(alert)


def test_eve_icmp_has_no_ports_and_optional_keys_absent():
    alert = make_alert(proto="ICMP", source_port=0, dest_port=0, endpoint=None, app_proto=None,
                       pkt_num=0)
    eve = to_eve(alert)
    assert "src_port" not in eve and "dest_port" not in eve
    for key in ("flow_id", "in_iface", "app_proto", "pcap_cnt"):
        assert key not in eve
    assert eve["dpictl"]["endpoint"] is None


def test_calico_record_shape():
    alert = make_alert(snort_alert="23/11/14-22:13:20.001100 [**] [1:21562:6] ...")
    rec = to_calico(alert)
    assert rec == {
        "id": "red_red-dpi-all_1700000000001100000_10.244.1.10_43512_10.244.1.11_80_node1",
        "time": 1700000000,
        "type": "deep_packet_inspection",
        "origin": "dpi.red/red-dpi-all",
        "description": DPI_DESCRIPTION,
        "severity": 100,
        "attack_vector": "Network",
        "mitre_tactic": "n/a",
        "mitre_ids": ["n/a"],
        "mitigations": ["n/a"],
        "host": "node1",
        "source_ip": "10.244.1.10", "source_port": 43512,
        "source_name": "red1", "source_namespace": "red",
        "dest_ip": "10.244.1.11", "dest_port": 80,
        "dest_name": "red2", "dest_namespace": "red",
        "record": {"snort_signature_id": "21562", "snort_signature_revision": "6",
                   "snort_alert": "23/11/14-22:13:20.001100 [**] [1:21562:6] ..."},
        "endpoint": {"name": "red1", "namespace": "red", "interface": "cali08ce55c424a",
                     "role": "source"},
    }
    json.dumps(rec)  # JSON-ready


def test_calico_ids_differ_for_the_two_red1_to_red2_alerts():
    # Seen on both veths a few microseconds apart: ids must not collide (Calico: nanos + host).
    a = make_alert(time=1700000000.000001)
    b = make_alert(time=1700000000.000002)
    assert calico_event_id(a) != calico_event_id(b)
    assert calico_event_id(make_alert(origin="inspect", host="")).startswith("inspect_")
    assert to_calico(make_alert(endpoint=None))["endpoint"] is None
