"""Hand-built rules and packets for the detection tests (no parser, no decoder needed)."""

from __future__ import annotations

from dpictl.engine.packet import Packet
from dpictl.rules import ast

_SID = [1000000]


def make_rule(*options, proto: str = "tcp", sid: int | None = None, src_ports=None,
              dst_ports=None, bidirectional: bool = False, src=None, dst=None,
              syntax: str = "snort2") -> ast.Rule:
    if sid is None:
        _SID[0] += 1
        sid = _SID[0]
    return ast.Rule(
        action="alert", proto=proto,
        src=src or ast.AddressSpec(), src_ports=src_ports or ast.PortSpec(),
        bidirectional=bidirectional,
        dst=dst or ast.AddressSpec(), dst_ports=dst_ports or ast.PortSpec(),
        sid=sid, msg=f"test {sid}", options=list(options), syntax=syntax)  # type: ignore[arg-type]


def ports(*ranges: tuple[int, int], exclude=()) -> ast.PortSpec:
    return ast.PortSpec(any=False, include=tuple(ranges), exclude=tuple(exclude))


def make_packet(payload: bytes = b"", *, proto: int = 6, src: str = "10.0.0.1",
                dst: str = "10.0.0.2", sport: int = 40000, dport: int = 80, ts: float = 1.0,
                **fields) -> Packet:
    pkt = Packet(ts=ts, ip_version=4, src=src, dst=dst, ip_proto=proto, sport=sport,
                 dport=dport, payload=payload, ttl=64)
    for name, value in fields.items():
        setattr(pkt, name, value)
    return pkt


class FakeFlow:
    """The attributes of `dpictl.engine.flow_table.Flow` the detector reads."""

    def __init__(self, established: bool = True) -> None:
        self.established = established
        self.flowbits: set[str] = set()
        self.bytes_toserver = 0
        self.bytes_toclient = 0
