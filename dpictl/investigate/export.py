"""Alerts' packets as a pcapng file: what led up to each alert, then the packet that matched.

Per alert, the packets its flow showed before the triggering one (kept by the engine's
per-flow buffer, `dpictl.engine.flow_packets`), then the triggering packet, all in time
order. A packet that several alerts share (two alerts of one flow, two rules on one packet)
is written once. Only triggering packets carry a comment ("sid 1:21562:6 MALWARE-CNC ...",
one per alert that fired on it), which Wireshark shows in the packet list and tshark prints
as `frame.comment`.

Written with dpkt's pcapng writer (no need for a writer of our own): one Interface
Description Block per link type among the packets, one Enhanced Packet Block per packet.
"""

from __future__ import annotations

from dataclasses import dataclass, field
from pathlib import Path
from typing import Iterable

import dpkt.pcapng as pcapng

from dpictl.alerts.record import Alert

SNAPLEN = 262144


@dataclass
class ExportedPacket:
    """One packet to write; `comments` is empty unless an alert fired on it."""

    time: float
    data: bytes
    linktype: int
    comments: list[str] = field(default_factory=list)


@dataclass(frozen=True)
class ExportCount:
    packets: int            # written in all
    triggering: int         # of which alerts fired on
    without_packet: int     # alerts that kept no packet at all


def alert_comment(alert: Alert) -> str:
    """What the analyst reads beside the packet: which rule, and where it was seen."""
    where = f" on {alert.endpoint.namespace}/{alert.endpoint.name}" if alert.endpoint else ""
    return f"dpictl alert {alert.id}: sid {alert.gid}:{alert.sid}:{alert.rev} " \
           f"{alert.signature}{where}"


def evidence_packets(alerts: Iterable[Alert]) -> list[ExportedPacket]:
    """The alerts' kept and triggering packets, deduplicated, in time order."""
    # Two copies of one packet have the same timestamp (to the microsecond, as pcap keeps
    # it) and link type, and one's bytes start the other's: the kept copy is cut at the
    # buffer's snap length, the triggering copy at --packet-bytes.
    by_time: dict[tuple[int, int], list[ExportedPacket]] = {}
    packets: list[ExportedPacket] = []

    def add(ts: float, data: bytes, linktype: int, comment: str | None) -> None:
        if not data:
            return
        same_time = by_time.setdefault((round(ts * 1e6), linktype), [])
        for seen in same_time:
            n = min(len(seen.data), len(data))
            if seen.data[:n] == data[:n]:
                if len(data) > len(seen.data):
                    seen.data = bytes(data)     # the longer copy of the same packet
                break
        else:
            seen = ExportedPacket(ts, bytes(data), linktype)
            same_time.append(seen)
            packets.append(seen)
        if comment is not None and comment not in seen.comments:
            seen.comments.append(comment)

    for alert in sorted(alerts, key=lambda a: (a.time, a.id or 0)):
        for kept in alert.context:
            add(kept.time, kept.packet, kept.linktype, None)
        if alert.packet:
            add(alert.time, alert.packet, alert.linktype, alert_comment(alert))
    return sorted(packets, key=lambda p: p.time)     # stable: ties keep their order


def write_pcapng(path: Path, alerts: Iterable[Alert]) -> ExportCount:
    """Write the evidence of `alerts` to `path` (see the module docstring)."""
    alerts = list(alerts)
    packets = evidence_packets(alerts)
    linktypes: list[int] = []
    for packet in packets:
        if packet.linktype not in linktypes:
            linktypes.append(packet.linktype)
    idbs = [pcapng.InterfaceDescriptionBlockLE(snaplen=SNAPLEN, linktype=lt)
            for lt in linktypes] or [pcapng.InterfaceDescriptionBlockLE(snaplen=SNAPLEN)]
    with open(path, "wb") as fh:
        writer = pcapng.Writer(fh, shb=pcapng.SectionHeaderBlockLE(), idb=idbs)
        for packet in packets:
            opts = [pcapng.PcapngOptionLE(code=pcapng.PCAPNG_OPT_COMMENT,
                                          text=comment.encode("utf-8"))
                    for comment in packet.comments]
            block = pcapng.EnhancedPacketBlockLE(
                iface_id=linktypes.index(packet.linktype), pkt_data=packet.data,
                caplen=len(packet.data), pkt_len=len(packet.data),
                opts=opts + [pcapng.PcapngOptionLE(code=pcapng.PCAPNG_OPT_ENDOFOPT)])
            writer.writepkt(block, ts=packet.time)
    return ExportCount(packets=len(packets),
                       triggering=sum(1 for p in packets if p.comments),
                       without_packet=sum(1 for a in alerts if not a.packet and not a.context))


__all__ = ["write_pcapng", "evidence_packets", "alert_comment", "ExportCount",
           "ExportedPacket"]
