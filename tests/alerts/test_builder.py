"""Detection -> Alert: classification, priority precedence, names and endpoint."""

from __future__ import annotations

from types import SimpleNamespace

from dpictl.alerts.builder import DEFAULT_PRIORITY, alert_from_detection, classify
from dpictl.alerts.record import Endpoint

from .factories import make_detection, make_rule

TABLE = {"trojan-activity": SimpleNamespace(description="A Network Trojan was detected",
                                            priority=1),
         "misc-activity": {"description": "Misc activity", "priority": 3}}


def test_category_and_priority_from_classtype():
    alert = alert_from_detection(make_detection(make_rule(classtype="trojan-activity")), TABLE)
    assert alert.category == "A Network Trojan was detected"
    assert alert.priority == 1


def test_rule_priority_beats_classtype_default():
    rule = make_rule(classtype="misc-activity", priority=2)
    alert = alert_from_detection(make_detection(rule), TABLE)
    assert (alert.category, alert.priority) == ("Misc activity", 2)


def test_no_classtype_gets_default_priority():
    alert = alert_from_detection(make_detection(make_rule()), TABLE)
    assert (alert.category, alert.priority) == ("", DEFAULT_PRIORITY)


def test_unknown_classtype_keeps_its_name():
    alert = alert_from_detection(make_detection(make_rule(classtype="made-up")), TABLE)
    assert alert.category == "made-up"


def test_classify_accepts_callables_and_tuples():
    assert classify("x", lambda name: ("x", "Some thing", 2)) == ("Some thing", 2)
    assert classify(None, TABLE) == ("", None)


def test_names_endpoint_origin_and_flow_fields():
    pods = {"10.244.1.10": ("red1", "red"), "10.244.1.11": ("red2", "red")}
    ep = Endpoint("red2", "red", "cali5be78d22d70", "destination")
    det = make_detection(iface="cali5be78d22d70", flow_id=42, pkt_num=7, app_proto="http",
                         to_server=True)
    alert = alert_from_detection(det, TABLE, origin="dpi.red/red-dpi-all", host="node1",
                                 endpoint=ep, names=lambda ip: pods.get(ip, ("", "")))
    assert (alert.source_name, alert.source_namespace) == ("red1", "red")
    assert (alert.dest_name, alert.dest_namespace) == ("red2", "red")
    assert alert.endpoint == ep and alert.origin == "dpi.red/red-dpi-all"
    assert alert.host == "node1" and alert.pkt_num == 7 and alert.app_proto == "http"
    assert alert.extra["flow_id"] == 42 and alert.extra["in_iface"] == "cali5be78d22d70"
    assert alert.rule_text.startswith("alert tcp")
    assert alert.time == det.ts and alert.id is None


def test_unknown_ip_leaves_names_empty():
    alert = alert_from_detection(make_detection(), TABLE, names=lambda ip: ("", ""))
    assert alert.source_name == alert.dest_namespace == ""


def test_builtin_classification_table_is_used_when_none_given():
    alert = alert_from_detection(make_detection(make_rule(classtype="trojan-activity")))
    assert (alert.category, alert.priority) == ("A Network Trojan was detected", 1)


def test_the_flows_kept_packets_become_the_alerts_context():
    from dpictl.alerts.record import KeptPacket

    det = make_detection(frame=b"POST", linktype=1,
                         context=((1.0, b"syn", 1), (1.5, b"synack", 101)))
    alert = alert_from_detection(det, packet_limit=2)
    assert alert.packet == b"PO"
    assert alert.context == (KeptPacket(1.0, b"syn", 1), KeptPacket(1.5, b"synack", 101))
    assert alert_from_detection(make_detection()).context == ()
