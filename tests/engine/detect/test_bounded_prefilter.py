"""Fast patterns that can only match near the buffer start: their bounds, and that scanning
only that prefix of a TCP segment loses no match (and finds none the rule would refuse)."""

from __future__ import annotations

from detect_factories import FakeFlow, make_packet, make_rule
from dpictl.engine.detect import ThresholdTable, compile_rules
from dpictl.rules import ast

# NetBIOS session message, then an SMB header right after the 4-byte NetBIOS header
NBSS = ast.Content(b"\x00", depth=1)
SMB = ast.Content(b"\xffSMB", distance=3, within=4)


def _sids(det, payload: bytes, stream_added: bool) -> list[int]:
    pkt = make_packet(payload, dport=445)
    return [s.sid for s in det.inspect_packet(pkt, payload, FakeFlow(), True, ThresholdTable(),
                                              stream_added=stream_added)]


def test_relative_content_after_a_depth_is_bounded():
    # |FF|SMB starts at most at 1 + 3 and ends at most at 1 + 3 + 4
    sig = compile_rules([make_rule(NBSS, SMB)]).detector.signatures[0]
    assert sig.fast[1] == b"\xffSMB"
    assert sig.fast_bounds == (0, 8)


def test_a_cursor_moved_by_pcre_leaves_the_bound_open():
    rule = make_rule(NBSS, ast.Pcre("x+", relative=True), ast.Content(b"\xffSMB", within=4))
    sig = compile_rules([rule]).detector.signatures[0]
    assert sig.fast_bounds == (0, 0)


def test_segment_prefilter_uses_the_bounded_content():
    # the longest content (the fast pattern) is unbounded; the segment prefilter takes the
    # SMB header, which must sit in the first 8 bytes
    rule = make_rule(NBSS, SMB, ast.Content(b"\\PIPE\\LANMAN", distance=0))
    sig = compile_rules([rule]).detector.signatures[0]
    assert sig.fast[1] == b"\\PIPE\\LANMAN" and sig.fast_bounds == (0, 0)
    assert sig.on_packet
    assert sig.segment_fast == (b"\xffSMB", False, 0, 8)


def test_large_segment_matches_only_where_the_rule_can():
    bounded = make_rule(NBSS, SMB, ast.Content(b"\\PIPE\\LANMAN", distance=0))
    # its fast pattern lies 70 KB in; on a segment it is found by its GET (depth 3)
    anywhere = make_rule(ast.Content(b"GET", depth=3), ast.Content(b"needle-in-the-tail"))
    det = compile_rules([bounded, anywhere]).detector
    filler = b"A" * 70000
    smb = b"\x00\x00\x00\x2f\xffSMB" + filler + b"\\PIPE\\LANMAN"
    assert _sids(det, smb, stream_added=True) == [bounded.sid]
    assert _sids(det, smb, stream_added=False) == [bounded.sid]
    # the SMB header one byte too late: neither path alerts
    late = b"\x00\x00\x00\x2f\x00\xffSMB" + filler + b"\\PIPE\\LANMAN"
    assert _sids(det, late, stream_added=True) == []
    assert _sids(det, late, stream_added=False) == []
    tail = b"GET " + filler + b"needle-in-the-tail"
    assert _sids(det, tail, stream_added=True) == [anywhere.sid]


def test_one_byte_fast_patterns_keep_their_case_rule():
    # one-byte patterns are answered by a membership test, not by hyperscan
    exact = make_rule(ast.Content(b"Q"), proto="udp")
    caseless = make_rule(ast.Content(b"z", nocase=True), proto="udp")
    det = compile_rules([exact, caseless]).detector

    def sids(payload: bytes) -> set[int]:
        pkt = make_packet(payload, proto=17)
        return {s.sid for s in det.inspect_packet(pkt, payload, None, None, ThresholdTable())}

    assert sids(b"..Q..") == {exact.sid}
    assert sids(b"..q..") == set()
    assert sids(b"..Z..") == {caseless.sid}
    assert sids(b"zQ") == {exact.sid, caseless.sid}
    assert sids(b"nothing") == set()
