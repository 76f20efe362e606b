"""Evaluate one candidate signature against one packet / stream chunk / HTTP transaction.

The order of tests is cheapest first: header (ports, addresses), packet fields, flow
state, flowbits, then the content chains. Post-match effects (flowbits set/unset, then
threshold and detection_filter) run only for a signature whose conditions all held, as in
Suricata's DetectRunPostMatch.
"""

from __future__ import annotations

from typing import TYPE_CHECKING, Mapping

from dpictl.engine.detect import flowbits
from dpictl.engine.detect.packet_checks import numeric_compare
from dpictl.engine.detect.payload import ChainState, match_chain
from dpictl.engine.detect.signature import Signature
from dpictl.engine.detect.thresholds import ThresholdTable
from dpictl.engine.packet import Packet

if TYPE_CHECKING:
    from dpictl.engine.flow_table import Flow


def header_ok(sig: Signature, pkt: Packet) -> bool:
    """Addresses and ports, in rule direction or (for `<>`) either direction."""
    if _one_way(sig, pkt.src, pkt.sport, pkt.dst, pkt.dport):
        return True
    return sig.bidirectional and _one_way(sig, pkt.dst, pkt.dport, pkt.src, pkt.sport)


def _one_way(sig: Signature, src: str, sport: int, dst: str, dport: int) -> bool:
    if sig.dports is not None and not sig.dports.match(dport):
        return False
    if sig.sports is not None and not sig.sports.match(sport):
        return False
    if sig.src is not None and not sig.src.match(src):
        return False
    return sig.dst is None or sig.dst.match(dst)


def flow_ok(sig: Signature, flow: Flow | None, to_server: bool | None) -> bool:
    f = sig.flow
    if f is None or f.stateless and not (f.to_server or f.to_client or f.established):
        return True
    if flow is None:
        return False
    if f.to_server and not to_server:
        return False
    if f.to_client and to_server:
        return False
    established = flow.established
    if f.established and not established:
        return False
    if f.not_established and established:
        return False
    return True


def conditions_ok(sig: Signature, pkt: Packet, flow: Flow | None,
                  to_server: bool | None) -> bool:
    """Everything except the content chains: packet fields, header, flow, flowbits.

    Packet checks (flags, dsize...) come first: they are what rejects most candidates
    (the header-only rules every TCP packet is tested against), and one closure call is
    cheaper than the header test.
    """
    for check in sig.checks:
        if not check(pkt):
            return False
    if not _one_way(sig, pkt.src, pkt.sport, pkt.dst, pkt.dport) and not (
            sig.bidirectional and _one_way(sig, pkt.dst, pkt.dport, pkt.src, pkt.sport)):
        return False
    if sig.flow is not None and not flow_ok(sig, flow, to_server):
        return False
    if sig.stream_size and not _stream_size_ok(sig, flow):
        return False
    if sig.flowbit_checks:
        if not flowbits.check(flow.flowbits if flow is not None else None,
                              sig.flowbit_checks):
            return False
    return True


def chains_ok(sig: Signature, buffers: Mapping[str, bytes],
              fields: Mapping[str, bytes] | None = None) -> bool:
    """All content chains of the signature match their buffers (missing buffer: no match)."""
    st = ChainState()
    for chain in sig.chains:
        if chain.buffer == "base64_data":
            buf = st.base64
        elif chain.field is not None:
            buf = fields.get(chain.field) if fields is not None else None
            if buf is None:
                return False
        else:
            buf = buffers.get(chain.buffer)
            if buf is None:
                return False
        if not match_chain(chain.ops, buf, st):
            return False
    for test in sig.buffer_tests:
        name = test.buffer or ("http_raw_uri" if test.raw else "http_uri")
        buf = buffers.get(name)
        if buf is None or not numeric_compare(test.op, test.value, test.high)(len(buf)):
            return False
    return True


def post_match(sig: Signature, pkt: Packet, flow: Flow | None, thresholds: ThresholdTable) -> bool:
    """Apply flowbit actions and rate limits; True when the match should alert."""
    if sig.flowbit_actions and flow is not None:
        flowbits.apply(flow.flowbits, sig.flowbit_actions)
    if sig.noalert:
        return False
    key = sig.rule.key
    if sig.detection_filter is not None and not thresholds.allow(
            sig.detection_filter, key, pkt.src, pkt.dst, pkt.ts):
        return False
    if sig.threshold is not None and not thresholds.allow(
            sig.threshold, key, pkt.src, pkt.dst, pkt.ts):
        return False
    return True


def _stream_size_ok(sig: Signature, flow: Flow | None) -> bool:
    if flow is None:
        return False
    client, server = flow.bytes_toserver, flow.bytes_toclient
    for test in sig.stream_size:
        cmp = numeric_compare(test.op, test.value, test.high)
        side = test.extra or "both"
        if side == "client" and not cmp(client):
            return False
        if side == "server" and not cmp(server):
            return False
        if side == "both" and not (cmp(client) and cmp(server)):
            return False
        if side == "either" and not (cmp(client) or cmp(server)):
            return False
    return True


__all__ = ["header_ok", "flow_ok", "conditions_ok", "chains_ok", "post_match"]
