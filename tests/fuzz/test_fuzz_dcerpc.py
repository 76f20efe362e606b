"""The SMB and DCE/RPC parsers on mutated real sessions (the SMB2 pipe traffic of the
impacket psexec capture, the SMB1 one of sv-smb1-data-offset) and on mutated crafted
DCE/RPC: they never raise, whatever the bytes, and a flow's memory stays within its bounds
(`FLOW_STUB_BUDGET`, `MAX_RECORD`)."""

from __future__ import annotations

from pathlib import Path

from hypothesis import given, settings
from hypothesis import strategies as st

from dpictl.capture import open_pcap
from dpictl.engine.app.dcerpc import FLOW_STUB_BUDGET, MAX_STUB, DceTcpState
from dpictl.engine.app.dcerpc_udp import DceUdpState
from dpictl.engine.app.smb import MAX_RECORD, SmbState
from dpictl.engine.decode import Decoder

from .budget import examples
from .mutate import mutated

SHARED = Path(__file__).resolve().parents[2].parent / "shared" / "pcaps"


def _streams(name: str, port: int, limit: int = 12000) -> list[tuple[bool, bytes]]:
    """The first TCP payloads to and from `port`, in capture order (a seed, not a
    reassembly: retransmissions and all)."""
    out: list[tuple[bool, bytes]] = []
    decoder, size = Decoder(), 0
    with open_pcap(SHARED / name) as source:
        for num, (ts, frame, linktype, iface) in enumerate(source):
            pkt = decoder.decode(ts, frame, linktype, iface, num)
            if pkt is None or not pkt.payload or port not in (pkt.sport, pkt.dport):
                continue
            out.append((pkt.dport == port, bytes(pkt.payload)))
            size += len(pkt.payload)
            if size > limit:
                break
    return out


SMB_SEEDS = [_streams("ec-impacket_psexec.pcap", 445), _streams("sv-smb1-data-offset.pcap", 445)]
DCE_SEED = _streams("ec-impacket_psexec.pcap", 135)


def _check_bounds(state) -> None:
    calls = state._calls
    assert calls._bytes <= FLOW_STUB_BUDGET + MAX_STUB
    for call in calls.values():
        assert len(call.stub_ts) <= MAX_STUB and len(call.stub_tc) <= MAX_STUB


@settings(max_examples=examples(250))
@given(st.sampled_from(range(len(SMB_SEEDS))).flatmap(
    lambda i: st.lists(st.sampled_from(SMB_SEEDS[i]).flatmap(
        lambda seg: st.tuples(st.just(seg[0]), mutated(seg[1], max_ops=3))),
        min_size=1, max_size=24)))
def test_smb_on_mutated_sessions(segments: list[tuple[bool, bytes]]) -> None:
    state = SmbState()
    for to_server, data in segments:
        state.feed(data, to_server)
    state.finish()
    _check_bounds(state)
    assert all(len(b) <= MAX_RECORD + 4 + 65536 for b in state._buf)


@settings(max_examples=examples(250))
@given(st.lists(st.sampled_from(DCE_SEED).flatmap(
    lambda seg: st.tuples(st.just(seg[0]), mutated(seg[1], max_ops=3))), min_size=1,
    max_size=12))
def test_dcerpc_tcp_on_mutated_sessions(segments: list[tuple[bool, bytes]]) -> None:
    state = DceTcpState()
    for to_server, data in segments:
        state.feed(data, to_server)
    state.finish()
    _check_bounds(state)


@settings(max_examples=examples(200))
@given(st.lists(st.binary(min_size=0, max_size=200).map(lambda b: b"\x04" + b), min_size=1,
                max_size=8))
def test_dcerpc_udp_on_random_datagrams(datagrams: list[bytes]) -> None:
    state = DceUdpState()
    for i, data in enumerate(datagrams):
        state.feed(data, i % 2 == 0)
    _check_bounds(state)
