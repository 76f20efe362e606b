"""The Alert record: Calico's DPI event, plus what Suricata's EVE `alert` needs.

One record serves every consumer (SQLite store, `alerts list`, EVE lines, Kubernetes Events),
so field names follow Calico's Linseed `v1.Event` exactly where Calico has the field
(`source_ip`, `dest_name`, `record.snort_signature_id` ...), and EVE's otherwise.
"""

from __future__ import annotations

import base64
from dataclasses import asdict, dataclass, field, fields
from datetime import datetime, timezone

DPI_EVENT_TYPE = "deep_packet_inspection"
DPI_DESCRIPTION = ("Deep Packet Inspection found a matching snort rule(s) for some packets "
                   "in your network")
DPI_SEVERITY = 100


@dataclass(frozen=True, slots=True)
class Endpoint:
    """The workload endpoint whose interface saw the packet (None when reading a pcap)."""

    name: str
    namespace: str
    interface: str
    role: str = ""        # "source" or "destination": which side of the packet the endpoint is

    def to_dict(self) -> dict:
        return asdict(self)

    @classmethod
    def from_dict(cls, data: dict) -> "Endpoint":
        return cls(name=str(data.get("name", "")), namespace=str(data.get("namespace", "")),
                   interface=str(data.get("interface", "")), role=str(data.get("role", "")))


@dataclass(frozen=True, slots=True)
class KeptPacket:
    """A packet of the alert's flow seen before the triggering one (the engine's per-flow
    buffer, `dpictl.engine.flow_packets`): what led up to the alert."""

    time: float
    packet: bytes
    linktype: int = 1

    def to_dict(self) -> dict:
        return {"time": self.time, "packet": base64.b64encode(self.packet).decode("ascii"),
                "linktype": self.linktype}

    @classmethod
    def from_dict(cls, data: dict) -> "KeptPacket":
        return cls(time=float(data["time"]), packet=base64.b64decode(data["packet"]),
                   linktype=int(data.get("linktype", 1)))


@dataclass(frozen=True, slots=True)
class Alert:
    """One alert, as stored and as shown. `time` is unix seconds (float, microseconds kept)."""

    time: float
    source_ip: str
    source_port: int
    dest_ip: str
    dest_port: int
    proto: str                      # "TCP", "UDP", "ICMP", "IPv6-ICMP"
    gid: int
    sid: int
    rev: int
    signature: str                  # the rule's msg
    category: str = ""              # the classtype's description, as EVE has it
    priority: int = 3               # Snort priority (1 high .. 4 low); EVE's "severity"
    origin: str = ""                # "dpi.<ns>/<name>" for agent alerts, "inspect" otherwise
    host: str = ""                  # node name
    source_name: str = ""
    source_namespace: str = ""
    dest_name: str = ""
    dest_namespace: str = ""
    endpoint: Endpoint | None = None
    app_proto: str | None = None
    pkt_num: int = 0
    rule_text: str = ""
    snort_alert: str = ""           # the alert_fast line Calico stores in record.snort_alert
    id: int | None = None           # row id once stored
    extra: dict = field(default_factory=dict)
    packet: bytes = b""             # the triggering packet, as captured (bounded: builder)
    linktype: int = 1               # the packet's pcap link type
    context: tuple[KeptPacket, ...] = ()    # the flow's packets before it, oldest first

    # Calico's constant fields.
    type: str = DPI_EVENT_TYPE
    severity: int = DPI_SEVERITY
    description: str = DPI_DESCRIPTION

    @property
    def timestamp(self) -> str:
        """EVE's timestamp format: 2010-07-14T17:40:55.989232+0000."""
        dt = datetime.fromtimestamp(self.time, tz=timezone.utc)
        return dt.strftime("%Y-%m-%dT%H:%M:%S.%f+0000")

    @property
    def record(self) -> dict:
        return {
            "snort_signature_id": str(self.sid),
            "snort_signature_revision": str(self.rev),
            "snort_alert": self.snort_alert,
        }

    def to_dict(self) -> dict:
        """Every field, JSON-ready (the endpoint as a dict), for storage and round trips."""
        data = {f.name: getattr(self, f.name) for f in fields(self)}
        data["endpoint"] = self.endpoint.to_dict() if self.endpoint else None
        data["extra"] = dict(self.extra)
        data["packet"] = base64.b64encode(self.packet).decode("ascii")
        data["context"] = [kept.to_dict() for kept in self.context]
        return data

    @classmethod
    def from_dict(cls, data: dict) -> "Alert":
        """The inverse of `to_dict`; unknown keys are ignored so older readers survive
        records written by newer versions."""
        known = {f.name for f in fields(cls)}
        kwargs = {k: v for k, v in data.items() if k in known}
        endpoint = kwargs.get("endpoint")
        if isinstance(endpoint, dict):
            kwargs["endpoint"] = Endpoint.from_dict(endpoint)
        kwargs["extra"] = dict(kwargs.get("extra") or {})
        packet = kwargs.get("packet")
        if isinstance(packet, str):
            kwargs["packet"] = base64.b64decode(packet)
        kwargs["context"] = tuple(KeptPacket.from_dict(k) if isinstance(k, dict) else k
                                  for k in kwargs.get("context") or ())
        return cls(**kwargs)


__all__ = ["Alert", "Endpoint", "KeptPacket", "DPI_EVENT_TYPE", "DPI_DESCRIPTION", "DPI_SEVERITY"]
