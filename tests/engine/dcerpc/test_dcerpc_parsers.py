"""The DCE/RPC, SMB and keyword parsers on their own (no Suricata needed): what each call
carries, what the parsers refuse, and the bounds that keep a hostile flow small."""

from __future__ import annotations

import uuid

import pytest
from dce_frames import (ALTER, ALTER_RESP, bind, bind_ack, cl_pdu, co_pdu, nbss, request,
                        response, smb1_create, smb1_trans, smb1_tree_connect, smb2,
                        smb2_create, smb2_read, smb2_tree_connect, smb2_write)
from dce_sessions import A, B, LSASS

from dpictl.engine.app.dcerpc import (FLOW_STUB_BUDGET, MAX_STUB, DceTcpState,
                                      looks_like_dcerpc, parse_co_header)
from dpictl.engine.app.dcerpc_udp import DceUdpState
from dpictl.engine.app.smb import MAX_RECORD, SmbState, probe_smb
from dpictl.engine.detect.dce_keywords import DceKeywordError, parse_iface, parse_opnums

GUID = bytes(range(16))
U = uuid.UUID


def _iface_ok(event, iface: str) -> bool:
    return event.ifaces.match(event, U(iface).bytes, lambda v: True, False)


def _to_server(st: DceTcpState, pdu: bytes):
    """Feed a request; its to-server event is held until the flow moves on (here: ends)."""
    early = st.feed(pdu, True)
    assert [e.to_server for e in early] == [False]        # to the client, right away
    [held] = st.finish(to_server=True)
    assert held.to_server and held.call is early[0].call
    return held


def test_tcp_request_gets_context_opnum_and_stub():
    st = DceTcpState()
    assert st.feed(bind([(0, A, 3), (1, B, 1)]), True) == []
    st.feed(bind_ack([0, 2]), False)
    event = _to_server(st, request(15, b"STUB", ctx_id=0, call_id=2))
    call = event.call
    assert (call.ctx_id, call.opnum, bytes(call.stub_ts)) == (0, 15, b"STUB")
    assert event.complete and _iface_ok(event, A)
    assert not _iface_ok(event, B)                   # B was refused by the bind_ack
    other = _to_server(st, request(15, b"x", ctx_id=1, call_id=3))
    assert not _iface_ok(other, B)


def test_tcp_to_server_inspection_waits_for_the_reply():
    """A fault answering the request is parsed before the request is inspected: as in
    Suricata, dce_iface then fails (the last PDU is not a request or response)."""
    st = DceTcpState()
    st.feed(bind([(0, A, 3)]), True)
    st.feed(bind_ack([0]), False)
    [early] = st.feed(request(5, b"x", call_id=2), True)
    assert _iface_ok(early, A)
    [held] = st.feed(co_pdu(3, b"\x00" * 16, call_id=2), False)
    assert held.to_server and held.call.opnum == 5 and not _iface_ok(held, A)
    assert st.feed(request(5, b"x", call_id=3), True) == []        # the fault ended parsing


def test_tcp_alter_context_ack_replaces_the_accepted_list():
    st = DceTcpState()
    st.feed(bind([(0, A, 3)]), True)
    st.feed(bind_ack([0]), False)
    st.feed(bind([(1, B, 1)], call_id=2, ptype=ALTER), True)
    st.feed(bind_ack([0], call_id=2, ptype=ALTER_RESP), False)
    a = _to_server(st, request(1, b"", ctx_id=0, call_id=3))
    b = _to_server(st, request(1, b"", ctx_id=1, call_id=4))
    assert not _iface_ok(a, A) and _iface_ok(b, B)


def test_tcp_response_stub_starts_after_the_common_header():
    st = DceTcpState()
    st.feed(request(1, b"q", call_id=7), True)
    [held_request] = st.feed(response(b"RESP", call_id=7), False)
    assert held_request.to_server
    [event] = st.finish()
    assert bytes(event.call.stub_tc)[8:] == b"RESP" and not event.to_server
    assert event.complete and event.call is held_request.call       # answered: once


def test_tcp_one_pdu_per_chunk_and_each_fragment_a_call():
    st = DceTcpState()
    first = _to_server(st, request(4, b"AAAA", call_id=2, flags=1) + request(4, b"ZZ",
                                                                             call_id=2, flags=2))
    assert bytes(first.call.stub_ts) == b"AAAA"                      # the rest was dropped
    second = _to_server(st, request(4, b"ZZ", call_id=2, flags=2))
    assert bytes(second.call.stub_ts) == b"ZZ" and second.call is not first.call
    assert len(st.finish()) == 2                     # both inspected to the client at the end


def test_tcp_pdu_split_over_chunks_is_buffered():
    st = DceTcpState()
    pdu = request(9, b"x" * 3000, call_id=2)
    assert st.feed(pdu[:10], True) == [] and st.feed(pdu[10:1500], True) == []
    [event] = st.feed(pdu[1500:], True)
    assert len(event.call.stub_ts) == 3000


@pytest.mark.parametrize("pdu", [co_pdu(16, b"\x00" * 4), co_pdu(3, b"\x00" * 16),
                                 bind([(0, A, 3)], little=False), b"\x04\x00" + b"\x00" * 30])
def test_tcp_pdus_suricata_refuses_end_parsing(pdu):
    st = DceTcpState()
    st.feed(pdu, True)
    assert st.feed(request(1, b"after", call_id=9), True) == []


def test_tcp_gap_ends_parsing():
    st = DceTcpState()
    st.feed(request(1, b"before", call_id=1)[:20], True)
    st.gap(100, True)
    assert st.feed(request(2, b"after", call_id=2), True) == []


def test_smb_gap_resumes_at_the_next_smb_header():
    st = SmbState()
    _smb2_session(st)
    req, _ = smb2_write(3, GUID, request(1, b"lost"))
    st.feed(req[:30], True)
    st.gap(len(req) - 30, True)
    again, _ = smb2_write(4, GUID, request(2, b"after"))
    assert st.feed(b"xx", True) == []                 # no header yet
    [event] = st.feed(b"yy" + again, True)
    assert event.call.opnum == 2


def test_probes():
    assert looks_like_dcerpc(b"\x05\x00") is None and looks_like_dcerpc(b"\x05\x01") is False
    assert looks_like_dcerpc(request(1, b"x")) is True
    assert looks_like_dcerpc(b"\x05\x00\x00\x03\xff" + b"\x00" * 11) is False   # drep
    assert parse_co_header(b"\x05\x02" + b"\x00" * 14) is None                 # minor 2
    session_request = b"\x81\x00\x00\x04abcd"
    assert probe_smb(session_request + nbss(smb2(0, b"", 0))) is True
    assert probe_smb(session_request) is None and probe_smb(b"GET / HTTP") is False


def _smb2_session(st: SmbState, name: str = "srvsvc", share: str = "\\\\s\\IPC$") -> None:
    for req, resp in (smb2_tree_connect(1, share), smb2_create(2, name, GUID)):
        st.feed(req, True)
        st.feed(resp, False)


def _write(st: SmbState, mid: int, pdu: bytes) -> list:
    req, resp = smb2_write(mid, GUID, pdu)
    out = st.feed(req, True)
    st.feed(resp, False)
    return out


def test_smb2_pipe_write_read_joins_fragments_and_matches_any_acked_iface():
    st = SmbState()
    _smb2_session(st)
    _write(st, 3, bind([(0, A, 3), (1, B, 1)]))
    req, resp = smb2_read(4, GUID, bind_ack([0, 0]))
    st.feed(req, True)
    st.feed(resp, False)
    first = _write(st, 5, request(4, b"AAAA", ctx_id=1, call_id=2, flags=1))
    assert not first[0].complete
    [last] = _write(st, 6, request(4, b"ZZZZ", call_id=2, flags=2))
    assert last.call is first[0].call and bytes(last.call.stub_ts) == b"AAAAZZZZ"
    assert last.complete and _iface_ok(last, A) and _iface_ok(last, B)
    [unanswered] = st.finish()
    assert unanswered.call is last.call and not unanswered.to_server


def test_smb2_pipes_suricata_does_not_treat_as_dcerpc_are_skipped():
    st = SmbState()
    _smb2_session(st, name="netlogon")
    assert _write(st, 3, request(1, b"x")) == []
    disk = SmbState()
    _smb2_session(disk, share="\\\\s\\C$")
    assert _write(disk, 3, request(1, b"x")) == []


def test_smb2_without_tree_connect_recognises_dcerpc_by_its_data():
    st = SmbState()
    assert len(_write(st, 3, request(1, b"x"))) == 1
    assert _write(st, 4, b"not dce/rpc at all, longer than a header") == []


def test_smb2_read_with_buffer_overflow_is_joined_with_the_next_read():
    st = SmbState()
    _smb2_session(st)
    _write(st, 3, request(1, b"q", call_id=5))
    pdu = response(b"R" * 100, call_id=5)
    for mid, (part, status) in enumerate(((pdu[:40], 0x80000005), (pdu[40:], 0)), 4):
        req, resp = smb2_read(mid, GUID, part, status=status)
        st.feed(req, True)
        events = st.feed(resp, False)
    assert [bytes(e.call.stub_tc) for e in events] == [b"R" * 100]


def test_smb_record_larger_than_the_bound_is_skipped_not_held():
    st = SmbState()
    _smb2_session(st)
    big = nbss(smb2(9, b"\x00" * (MAX_RECORD + 10), 3))
    for i in range(0, len(big), 65536):
        assert st.feed(big[i:i + 65536], True) == []
    assert len(st._buf[1]) < 65536
    assert len(_write(st, 4, request(1, b"after"))) == 1


def test_smb1_trans_named_pipe():
    st = SmbState()
    for req, resp in (smb1_tree_connect(1, "\\\\S\\IPC$"), smb1_create(2, "\\winreg", 0x4000)):
        st.feed(req, True)
        st.feed(resp, False)
    req, resp = smb1_trans(3, 0x4000, request(24, b"STUB", call_id=2), response(b"OUT",
                                                                                call_id=2))
    [ev] = st.feed(req, True)
    assert (ev.call.opnum, bytes(ev.call.stub_ts)) == (24, b"STUB")
    [back] = st.feed(resp, False)
    assert back.call is ev.call and bytes(back.call.stub_tc) == b"OUT"


def test_udp_fragments_are_joined_and_inspected_once_complete():
    st = DceUdpState()
    assert st.feed(cl_pdu(0, LSASS, 9, b"AAAA", flags1=0x24), True) == []
    [event] = st.feed(cl_pdu(0, LSASS, 9, b"ZZZZ", flags1=0x26, fragnum=1), True)
    assert bytes(event.call.stub_ts) == b"AAAAZZZZ" and event.call.opnum == 9
    assert not event.ifaces.match(event, U(LSASS).bytes, lambda v: True, True)
    assert st.feed(b"\x04\x00" + b"\x00" * 10, True) == []        # too short for a header


def test_stub_and_flow_memory_are_bounded():
    st = DceTcpState()
    huge = request(1, b"s" * 60000, call_id=1)
    for i in range(200):
        st.feed(huge, True)
    calls = st._calls
    assert calls._bytes <= FLOW_STUB_BUDGET and len(list(calls.values())) <= 64
    one = DceUdpState()
    for n in range(40):
        one.feed(cl_pdu(0, LSASS, 1, b"x" * 60000, flags1=0x24, fragnum=n), True)
    [call] = one._calls.values()
    assert len(call.stub_ts) <= MAX_STUB


@pytest.mark.parametrize("text,want", [
    ("4b324fc8-1670-01d3-1278-5a47bf6ee188", (None, 0, False)),
    ("4b324fc8-1670-01d3-1278-5a47bf6ee188, <2", ("<", 2, False)),
    ("4b324fc8-1670-01d3-1278-5a47bf6ee188,!3,any_frag", ("!", 3, True)),
    ("uuid 4b324fc8-1670-01d3-1278-5a47bf6ee188, version >1, any_frag", (">", 1, True)),
])
def test_dce_iface_spellings(text, want):
    iface = parse_iface(text)
    assert iface.uuid == U(A).bytes and (iface.op, iface.version, iface.any_frag) == want


@pytest.mark.parametrize("text", ["", "not-a-uuid", f"{A},<2,<3", f"{A},~2", f"{A},<70000"])
def test_dce_iface_errors(text):
    with pytest.raises(DceKeywordError):
        parse_iface(text)


def test_dce_opnum_spellings():
    assert parse_opnums("15") == ((15, 15),)
    assert parse_opnums('"1-2"') == ((1, 2),)
    assert parse_opnums("0,4-6, 9") == ((0, 0), (4, 6), (9, 9))
    for bad in ("", "3-1", "x", "1-2-3", "70000"):
        with pytest.raises(DceKeywordError):
            parse_opnums(bad)


def test_version_comparisons():
    iface = parse_iface(f"{A},<3")
    assert iface.version_ok(2) and not iface.version_ok(3)
    assert parse_iface(f"{A},!3").version_ok(4) and parse_iface(f"{A},=3").version_ok(3)
