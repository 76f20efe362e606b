"""An Alert as a Suricata EVE `alert` event, so EVE tools (jq recipes, EveBox, SIEM parsers)
read dpictl's output as they read Suricata's.

The core keys and their types are Suricata's; what EVE has no place for (the DPI resource,
node, endpoint and pod names) goes into one `dpictl` sub-object, which EVE readers ignore.
ICMP events carry no ports, as in Suricata.
"""

from __future__ import annotations

import base64
import json

from dpictl.alerts.alert_fast import PORTLESS_PROTOS
from dpictl.alerts.calico_event import calico_event_id, to_calico
from dpictl.alerts.record import Alert

EVE_ACTION = "allowed"     # dpictl only watches (IDS): every alert is of a packet let through


def to_eve(alert: Alert, packet: bool = False) -> dict:
    """The EVE dict for one alert (JSON-ready, keys in Suricata's order). With `packet`,
    the evidence as Suricata's eve-log alert options `payload`, `payload-printable` and
    `packet` write it."""
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
    if packet and alert.packet:
        eve.update(packet_fields(alert.packet, alert.linktype, alert.time))
    eve["dpictl"] = _dpictl_part(alert)
    return eve


def packet_fields(frame: bytes, linktype: int, ts: float) -> dict:
    """`payload` (base64 of the L4 payload), `payload_printable`, `packet` (base64 of the
    frame) and `packet_info.linktype`, as Suricata names them."""
    from dpictl.engine.decode import Decoder

    try:
        decoded = Decoder().decode(ts, frame, linktype, None)
    except Exception:  # evidence must not cost the alert its line
        decoded = None
    payload = decoded.payload if decoded is not None else b""
    return {
        "payload": base64.b64encode(payload).decode("ascii"),
        "payload_printable": printable(payload),
        "packet": base64.b64encode(frame).decode("ascii"),
        "packet_info": {"linktype": int(linktype)},
    }


def printable(data: bytes) -> str:
    """Suricata's payload_printable: printable ASCII and line breaks kept, the rest '.'."""
    return "".join(chr(b) if 32 <= b < 127 or b in (9, 10, 13) else "." for b in data)


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


def eve_line(alert: Alert, packet: bool = False) -> str:
    """One EVE JSON line (no trailing newline)."""
    return json.dumps(to_eve(alert, packet), separators=(",", ":"))


__all__ = ["to_eve", "to_calico", "eve_line", "packet_fields", "printable", "EVE_ACTION"]
