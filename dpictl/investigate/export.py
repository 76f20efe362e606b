"""Alerts' packets as a pcapng file, each triggering packet commented with its rule.

Written with dpkt's pcapng writer (no need for a writer of our own): one Interface
Description Block per link type among the alerts, and one Enhanced Packet Block per alert
carrying an `opt_comment` ("sid 1:21562:6 MALWARE-CNC ..."), which Wireshark shows in the
packet list and tshark prints as `frame.comment`.
"""

from __future__ import annotations

from pathlib import Path
from typing import Iterable

import dpkt.pcapng as pcapng

from dpictl.alerts.record import Alert

SNAPLEN = 262144


def alert_comment(alert: Alert) -> str:
    """What the analyst reads beside the packet: which rule, and where it was seen."""
    where = f" on {alert.endpoint.namespace}/{alert.endpoint.name}" if alert.endpoint else ""
    return f"dpictl alert {alert.id}: sid {alert.gid}:{alert.sid}:{alert.rev} " \
           f"{alert.signature}{where}"


def write_pcapng(path: Path, alerts: Iterable[Alert]) -> int:
    """Write the packet of every alert that kept one, in time order; returns how many."""
    with_packet = sorted((a for a in alerts if a.packet), key=lambda a: (a.time, a.id or 0))
    total = 0
    linktypes: list[int] = []
    for alert in with_packet:
        if alert.linktype not in linktypes:
            linktypes.append(alert.linktype)
    idbs = [pcapng.InterfaceDescriptionBlockLE(snaplen=SNAPLEN, linktype=lt)
            for lt in linktypes] or [pcapng.InterfaceDescriptionBlockLE(snaplen=SNAPLEN)]
    with open(path, "wb") as fh:
        writer = pcapng.Writer(fh, shb=pcapng.SectionHeaderBlockLE(), idb=idbs)
        for alert in with_packet:
            block = pcapng.EnhancedPacketBlockLE(
                iface_id=linktypes.index(alert.linktype), pkt_data=alert.packet,
                caplen=len(alert.packet), pkt_len=len(alert.packet),
                opts=[pcapng.PcapngOptionLE(code=pcapng.PCAPNG_OPT_COMMENT,
                                            text=alert_comment(alert).encode("utf-8")),
                      pcapng.PcapngOptionLE(code=pcapng.PCAPNG_OPT_ENDOFOPT)])
            writer.writepkt(block, ts=alert.time)
            total += 1
    return total


__all__ = ["write_pcapng", "alert_comment"]
