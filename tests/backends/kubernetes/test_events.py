"""Alerts as Kubernetes Events: the Event shape, the round trip, and `list_alerts` on the server."""

from __future__ import annotations

import json

import pytest

from dpictl.agent.kube_sink import KubeSink
from dpictl.alerts import Alert, Endpoint
from dpictl.alerts.record import KeptPacket
from dpictl.backends.kubernetes.events import (ANNOTATIONS_LIMIT, REASON, alert_from_event, alert_to_event,
                                               list_alerts, publish_alerts, read_alerts)

from .conftest import unique


def make_alert(namespace: str = "red", pod: str = "red1", t: float = 1_760_000_000.123456,
               **kw) -> Alert:
    fields = dict(
        time=t, source_ip="10.244.0.5", source_port=40000, dest_ip="10.244.0.6", dest_port=80,
        proto="TCP", gid=1, sid=21562, rev=5,
        signature="MALWARE-CNC Win.Trojan.Bredolab variant outbound connection",
        category="A Network Trojan was detected", priority=1, origin=f"dpi.{namespace}/red-dpi-all",
        host="dk8-node", source_name=pod, source_namespace=namespace, dest_name="red2",
        dest_namespace=namespace,
        endpoint=Endpoint(name=pod, namespace=namespace, interface="cali08ce55c424a",
                          role="source"),
        app_proto="http", rule_text='alert http (sid:21562;)', snort_alert="26/11/28-...",
        extra={"flow_id": 7})
    fields.update(kw)
    return Alert(**fields)


def test_event_is_a_warning_on_the_endpoint_pod() -> None:
    alert = make_alert()
    ev = alert_to_event(alert)
    assert ev["kind"] == "Event" and ev["type"] == "Warning" and ev["reason"] == REASON
    assert ev["involvedObject"] == {"apiVersion": "v1", "kind": "Pod", "namespace": "red",
                                    "name": "red1"}
    assert ev["metadata"]["namespace"] == "red"
    assert ev["message"] == ("MALWARE-CNC Win.Trojan.Bredolab variant outbound connection "
                             "[1:21562:5] {TCP} 10.244.0.5:40000 -> 10.244.0.6:80")
    calico = json.loads(ev["metadata"]["annotations"]["dpictl.io/calico-event"])
    assert calico["type"] == "deep_packet_inspection"
    assert calico["record"]["snort_signature_id"] == "21562"
    assert calico["origin"] == "dpi.red/red-dpi-all"
    assert ev["firstTimestamp"] == "2025-10-09T08:53:20Z"


def test_round_trip_keeps_every_field() -> None:
    alert = make_alert()
    back = alert_from_event(alert_to_event(alert))
    assert back == alert


def test_round_trip_keeps_the_packet_and_its_flows_kept_packets() -> None:
    context = tuple(KeptPacket(1_760_000_000.0 + i, bytes([i]) * 2048, 1) for i in range(8))
    alert = make_alert(packet=b"P" * 65536, context=context)
    event = alert_to_event(alert)
    assert alert_from_event(event) == alert
    assert sum(len(k) + len(v) for k, v in event["metadata"]["annotations"].items()) \
        <= ANNOTATIONS_LIMIT


def test_an_alert_too_large_for_the_annotations_drops_its_context_first() -> None:
    context = tuple(KeptPacket(float(i), b"c" * 2048, 1) for i in range(8))
    # 240,000 bytes of base64 packet fit; 22,000 more of context do not
    back = alert_from_event(alert_to_event(make_alert(packet=b"P" * 180_000, context=context)))
    assert back.packet == b"P" * 180_000 and back.context == ()
    back = alert_from_event(alert_to_event(make_alert(packet=b"P" * 262144, context=context)))
    assert back.packet == b"" and back.sid == 21562


def test_icmp_message_has_no_ports_and_names_are_stable() -> None:
    alert = make_alert(proto="ICMP", source_port=0, dest_port=0)
    assert alert_to_event(alert)["message"].endswith("{ICMP} 10.244.0.5 -> 10.244.0.6")
    assert alert_to_event(alert)["metadata"]["name"] == alert_to_event(alert)["metadata"]["name"]
    other = make_alert(endpoint=Endpoint("red2", "red", "cali5be78d22d70", "destination"))
    assert alert_to_event(other)["metadata"]["name"] != alert_to_event(alert)["metadata"]["name"]


def test_foreign_events_are_ignored() -> None:
    assert alert_from_event({"reason": "Pulled", "metadata": {}}) is None
    assert alert_from_event({"reason": REASON, "metadata": {"annotations": {
        "dpictl.io/alert": "{not json"}}}) is None


@pytest.mark.kube
def test_publish_and_list_alerts(backend, make_ns, kubeconfig) -> None:
    red, blue = make_ns("red"), make_ns("blue")
    a1 = make_alert(red, t=1_760_000_000.5)
    a2 = make_alert(red, t=1_760_000_001.5,
                    endpoint=Endpoint("red2", red, "cali5be78d22d70", "destination"))
    a3 = make_alert(red, t=1_760_000_002.5, dest_name="blue1", dest_namespace=blue)
    assert publish_alerts(backend, [a1, a2, a3]) == 3
    assert publish_alerts(backend, [a1]) == 0            # idempotent: same Event name
    ours = [a for a in list_alerts(kubeconfig=kubeconfig) if a.endpoint.namespace == red]
    assert ours == [a1, a2, a3]
    # -n blue finds the red1 -> blue1 alert although its Event lives in red
    assert list_alerts(kubeconfig=kubeconfig, namespace=blue) == [a3]
    assert read_alerts(backend, namespace=red, since=1_760_000_001.0) == [a2, a3]
    events = backend.get("Event", namespace=red)
    assert {e["involvedObject"]["name"] for e in events} == {"red1", "red2"}


@pytest.mark.kube
def test_sink_writes_eve_first_and_retries_events_later(backend, make_ns, kubeconfig,
                                                        tmp_path) -> None:
    import io

    ns = make_ns("sink")
    out = io.StringIO()
    gone = unique("gone")                  # a namespace that does not exist: 404, skipped
    sink = KubeSink(backend, eve_out=out)
    sink.add([make_alert(ns), make_alert(gone)])
    lines = [json.loads(line) for line in out.getvalue().splitlines()]
    assert [ln["event_type"] for ln in lines] == ["alert", "alert"]
    assert lines[0]["alert"]["signature_id"] == 21562
    assert sink.published == 1 and sink.pending == 0
    # API down: alerts are kept and go out with the next batch
    from .test_errors import _write_kubeconfig
    from dpictl.backends.kubernetes import KubernetesBackend

    down = KubernetesBackend(kubeconfig=_write_kubeconfig(tmp_path / "kc",
                                                          "https://127.0.0.1:1"))
    sink = KubeSink(down)
    sink.add([make_alert(ns, t=1_760_000_100.0)])
    assert sink.pending == 1 and sink.published == 0
    sink.backend = backend
    sink.add([make_alert(ns, t=1_760_000_101.0)])
    assert sink.pending == 0 and sink.published == 2
    times = [a.time for a in read_alerts(backend, namespace=ns)]
    assert times == [1_760_000_000.123456, 1_760_000_100.0, 1_760_000_101.0]
