"""An Alert as a Suricata EVE `alert` event, so EVE tools (jq recipes, EveBox, SIEM parsers)
read dpictl's output as they read Suricata's.

The core keys and their types are Suricata's; what EVE has no place for (the DPI resource,
node, endpoint and pod names) goes into one `dpictl` sub-object, which EVE readers ignore.
ICMP events carry no ports, as in Suricata.
"""

from __future__ import annotations

import json

from dpictl.alerts.alert_fast import PORTLESS_PROTOS
from dpictl.alerts.calico_event import calico_event_id, to_calico
from dpictl.alerts.record import Alert

EVE_ACTION = "allowed"     # dpictl only watches (IDS): every alert is of a packet let through


def to_eve(alert: Alert) -> dict:
    """The EVE dict for one alert (JSON-ready, keys in Suricata's order)."""
    eve: dict = {"timestamp": alert.timestamp}
    flow_id = alert.extra.get("flow_id")
    if flow_id:
        eve["flow_id"] = int(flow_id)
    iface = alert.endpoint.interface if alert.endpoint else alert.extra.get("in_iface")
    if iface:
        eve["in_iface"] = str(iface)
    if alert.pkt_num:
        eve["pcap_cnt"] = int(alert.pkt_num)
    eve["event_type"] = "alert"
    eve["src_ip"] = alert.source_ip
    if alert.proto.upper() not in PORTLESS_PROTOS:
        eve["src_port"] = int(alert.source_port)
    eve["dest_ip"] = alert.dest_ip
    if alert.proto.upper() not in PORTLESS_PROTOS:
        eve["dest_port"] = int(alert.dest_port)
    eve["proto"] = alert.proto
    if alert.app_proto:
        eve["app_proto"] = alert.app_proto
    eve["alert"] = {
        "action": EVE_ACTION,
        "gid": int(alert.gid),
        "signature_id": int(alert.sid),
        "rev": int(alert.rev),
        "signature": alert.signature,
        "category": alert.category,
        "severity": int(alert.priority),
    }
    eve["dpictl"] = _dpictl_part(alert)
    return eve


def _dpictl_part(alert: Alert) -> dict:
    ep = alert.endpoint
    part: dict = {
        "id": alert.id,
        "event_id": calico_event_id(alert),
        "origin": alert.origin,
        "host": alert.host,
        "source_name": alert.source_name,
        "source_namespace": alert.source_namespace,
        "dest_name": alert.dest_name,
        "dest_namespace": alert.dest_namespace,
        "endpoint": ep.to_dict() if ep else None,
    }
    return part


def eve_line(alert: Alert) -> str:
    """One EVE JSON line (no trailing newline)."""
    return json.dumps(to_eve(alert), separators=(",", ":"))


__all__ = ["to_eve", "to_calico", "eve_line", "EVE_ACTION"]
