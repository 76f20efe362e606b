"""Hand-made detections and alerts for the alert and CLI tests (no engine needed)."""

from __future__ import annotations

from dpictl.alerts.record import Alert, Endpoint
from dpictl.engine.packet import Detection
from dpictl.rules.ast import AddressSpec, PortSpec, Rule

LAB_TS = 1700000000.0011  # 2023-11-14T22:13:20.001100Z, as in lab-smk.pcap


def make_rule(sid: int = 21562, *, rev: int = 6, gid: int = 1, classtype: str | None = None,
              priority: int | None = None,
              msg: str = "MALWARE-CNC Win.Trojan.Bredolab variant outbound connection") -> Rule:
    return Rule(action="alert", proto="tcp", src=AddressSpec(), src_ports=PortSpec(),
                bidirectional=False, dst=AddressSpec(), dst_ports=PortSpec(), sid=sid, gid=gid,
                rev=rev, msg=msg, classtype=classtype, priority=priority,
                text=f'alert tcp any any -> any any (msg:"{msg}"; sid:{sid}; rev:{rev};)')


def make_detection(rule: Rule | None = None, *, proto: str = "TCP", ts: float = LAB_TS,
                   src: tuple[str, int] = ("10.244.1.10", 43512),
                   dst: tuple[str, int] = ("10.244.1.11", 80), **kw) -> Detection:
    return Detection(ts=ts, rule=rule or make_rule(), src_ip=src[0], src_port=src[1],
                     dst_ip=dst[0], dst_port=dst[1], proto=proto, **kw)


def make_alert(**kw) -> Alert:
    base = dict(time=LAB_TS, source_ip="10.244.1.10", source_port=43512, dest_ip="10.244.1.11",
                dest_port=80, proto="TCP", gid=1, sid=21562, rev=6,
                signature="MALWARE-CNC Win.Trojan.Bredolab variant outbound connection",
                category="A Network Trojan was detected", priority=1, origin="dpi.red/red-dpi-all",
                host="node1", source_name="red1", source_namespace="red", dest_name="red2",
                dest_namespace="red", app_proto="http", pkt_num=7,
                endpoint=Endpoint("red1", "red", "cali08ce55c424a", "source"))
    base.update(kw)
    return Alert(**base)
