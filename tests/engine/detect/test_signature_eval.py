"""Signature-level semantics on hand-built rules and packets: header, packet keywords,
flow, flowbits sequences, thresholds and detection_filter over packet timestamps."""

from __future__ import annotations

import pytest

from detect_factories import FakeFlow, make_packet, make_rule, ports
from dpictl.engine.detect import Detector, ThresholdTable, compile_rule, compile_rules
from dpictl.engine.detect.signature import SignatureRejected
from dpictl.rules import ast


def matches(rule: ast.Rule, pkt, flow=None, to_server=True, thresholds=None) -> bool:
    det = Detector([compile_rule(rule, 0)])
    hits = det.inspect_packet(pkt, pkt.payload, flow, to_server if flow else None,
                              thresholds or ThresholdTable())
    return bool(hits)


N = ast.NumericTest

PACKET_CASES = [
    ("dsize =", [N("dsize", "=", 3)], dict(payload=b"abc"), True),
    ("dsize >", [N("dsize", ">", 3)], dict(payload=b"abc"), False),
    ("dsize range", [N("dsize", "<>", 1, 5)], dict(payload=b"abc"), True),
    ("ttl", [N("ttl", "<", 2)], dict(ttl=1), True),
    ("ttl no", [N("ttl", "<", 2)], dict(ttl=64), False),
    ("ip id", [N("id", "=", 4321)], dict(ip_id=4321), True),
    ("itype/icode", [N("itype", "=", 3), N("icode", "=", 3)],
     dict(proto=1, icmp_type=3, icmp_code=3), True),
    ("icode wrong", [N("itype", "=", 3), N("icode", "=", 3)],
     dict(proto=1, icmp_type=3, icmp_code=1), False),
    ("itype on tcp", [N("itype", "=", 0)], dict(), False),
    ("icmp_id echo", [N("icmp_id", "=", 7)], dict(proto=1, icmp_type=8, icmp_id=7), True),
    ("icmp_id not echo", [N("icmp_id", "=", 7)], dict(proto=1, icmp_type=3, icmp_id=7), False),
    ("icmp_seq", [N("icmp_seq", "=", 9)], dict(proto=1, icmp_type=0, icmp_seq=9), True),
    ("seq", [N("seq", "=", 0)], dict(seq=0), True),
    ("ack", [N("ack", "=", 5)], dict(ack=6), False),
    ("window", [N("window", "=", 55808)], dict(window=55808), True),
    ("flags S exact", [ast.Flags("S")], dict(tcp_flags=0x02), True),
    ("flags S not SA", [ast.Flags("S")], dict(tcp_flags=0x12), False),
    ("flags S+", [ast.Flags("S", "+")], dict(tcp_flags=0x12), True),
    ("flags SF*", [ast.Flags("SF", "*")], dict(tcp_flags=0x01), True),
    ("flags !A", [ast.Flags("A", "!")], dict(tcp_flags=0x02), True),
    ("flags mask ignores CE", [ast.Flags("S", "", "12")], dict(tcp_flags=0xC2), True),
    ("flags 0", [ast.Flags("0")], dict(tcp_flags=0), True),
    ("fragbits M", [ast.Fragbits("M")], dict(ip_flags=0x1), True),
    ("fragbits !M", [ast.Fragbits("M", "!")], dict(ip_flags=0x1), False),
    ("fragbits D+", [ast.Fragbits("D", "+")], dict(ip_flags=0x3), True),
]


@pytest.mark.parametrize("name,opts,fields,expected", PACKET_CASES,
                         ids=[c[0] for c in PACKET_CASES])
def test_packet_keywords(name, opts, fields, expected):
    proto = fields.pop("proto", 6)
    payload = fields.pop("payload", b"")
    rule = make_rule(*opts, proto={1: "icmp", 6: "tcp"}[proto])
    assert matches(rule, make_packet(payload, proto=proto, **fields)) is expected


def test_ports_and_direction():
    rule = make_rule(ast.Content(b"x"), dst_ports=ports((80, 80)))
    assert matches(rule, make_packet(b"x", dport=80))
    assert not matches(rule, make_packet(b"x", sport=80, dport=40000))
    both = make_rule(ast.Content(b"x"), dst_ports=ports((80, 80)), bidirectional=True)
    assert matches(both, make_packet(b"x", sport=80, dport=40000))
    excl = make_rule(ast.Content(b"x"), src_ports=ports((0, 65535), exclude=((21, 23),)))
    assert not matches(excl, make_packet(b"x", sport=22))
    assert matches(excl, make_packet(b"x", sport=24))


def test_addresses_include_exclude():
    spec = ast.AddressSpec(any=False, include=("10.0.0.0/8",), exclude=("10.0.0.2/32",))
    rule = make_rule(ast.Content(b"x"), dst=spec)
    assert not matches(rule, make_packet(b"x", dst="10.0.0.2"))
    assert matches(rule, make_packet(b"x", dst="10.9.9.9"))
    assert not matches(rule, make_packet(b"x", dst="192.168.0.1"))
    v6 = make_rule(ast.Content(b"x"), src=ast.AddressSpec(any=False, include=("2001:db8::/32",)))
    assert matches(v6, make_packet(b"x", src="2001:db8::1", dst="2001:db8::2"))


def test_ip_rule_matches_tcp_udp_and_icmp_rule_matches_icmpv6():
    rule = make_rule(ast.Content(b"AAAA"), proto="ip")
    assert matches(rule, make_packet(b"xAAAA", proto=6))
    assert matches(rule, make_packet(b"xAAAA", proto=17))
    icmp = make_rule(N("itype", "=", 128), proto="icmp")
    assert matches(icmp, make_packet(proto=58, icmp_type=128, src="::1", dst="::2"))


def test_content_rule_never_matches_empty_payload():
    rule = make_rule(ast.Content(b"x", negated=True))
    assert not matches(rule, make_packet(b""))
    assert matches(rule, make_packet(b"y"))


@pytest.mark.parametrize("flow_opt,established,to_server,expected", [
    (ast.Flow(established=True), True, True, True),
    (ast.Flow(established=True), False, True, False),
    (ast.Flow(not_established=True), False, True, True),
    (ast.Flow(to_server=True), True, True, True),
    (ast.Flow(to_server=True), True, False, False),
    (ast.Flow(to_client=True), True, False, True),
    (ast.Flow(stateless=True), False, False, True),
])
def test_flow(flow_opt, established, to_server, expected):
    rule = make_rule(flow_opt, ast.Content(b"x"))
    assert matches(rule, make_packet(b"x"), FakeFlow(established), to_server) is expected


def test_flow_option_without_flow_does_not_match():
    assert not matches(make_rule(ast.Flow(to_server=True)), make_packet(), None)
    assert matches(make_rule(ast.Flow(stateless=True)), make_packet(), None)


def test_flowbits_sequence_across_packets():
    setter = make_rule(ast.Content(b"LOGIN"), ast.Flowbits("set", ("auth",)),
                       ast.Flowbits("noalert"))
    tester = make_rule(ast.Content(b"DATA"), ast.Flowbits("isset", ("auth",)))
    unsetter = make_rule(ast.Content(b"QUIT"), ast.Flowbits("unset", ("auth",)),
                         ast.Flowbits("noalert"))
    det = compile_rules([tester, setter, unsetter]).detector
    flow, th = FakeFlow(), ThresholdTable()

    def sids(payload):
        return [s.sid for s in det.inspect_packet(make_packet(payload), payload, flow, True, th)]

    assert sids(b"DATA") == []                 # not set yet
    assert sids(b"LOGIN") == []                # noalert
    assert flow.flowbits == {"auth"}
    assert sids(b"DATA") == [tester.sid]
    assert sids(b"QUIT") == []
    assert sids(b"DATA") == []
    # setter ordered before tester: both in one packet works
    assert sids(b"DATA LOGIN") == [tester.sid]


@pytest.mark.parametrize("command,names,any_of,bits,expected", [
    ("isset", ("a", "b"), False, {"a"}, False),
    ("isset", ("a", "b"), True, {"a"}, True),
    ("isnotset", ("a",), False, set(), True),
    ("isnotset", ("a",), False, {"a"}, False),
])
def test_flowbits_groups(command, names, any_of, bits, expected):
    rule = make_rule(ast.Flowbits(command, names, any_of))
    flow = FakeFlow()
    flow.flowbits = set(bits)
    assert matches(rule, make_packet(), flow) is expected


def test_flowbits_toggle():
    rule = make_rule(ast.Flowbits("toggle", ("t",)))
    flow = FakeFlow()
    matches(rule, make_packet(), flow)
    assert flow.flowbits == {"t"}
    matches(rule, make_packet(), flow)
    assert flow.flowbits == set()


def _alerts_over_time(threshold: ast.Threshold, times, src="10.0.0.1"):
    rule = make_rule(ast.Content(b"x"), threshold)
    det = compile_rules([rule]).detector
    th = ThresholdTable()
    return [bool(det.inspect_packet(make_packet(b"x", ts=t, src=src), b"x", None, None, th))
            for t in times]


def test_detection_filter_alerts_after_count_within_window():
    df = ast.Threshold("detection_filter", "by_src", 3, 10)
    assert _alerts_over_time(df, [0, 1, 2, 3, 4, 20, 21]) == [
        False, False, False, True, True, False, False]


def test_threshold_limit():
    lim = ast.Threshold("limit", "by_src", 2, 60)
    assert _alerts_over_time(lim, [0, 1, 2, 3, 70, 71, 72]) == [
        True, True, False, False, True, True, False]


def test_threshold_every_nth():
    thr = ast.Threshold("threshold", "by_src", 3, 60)
    assert _alerts_over_time(thr, [0, 1, 2, 3, 4, 5]) == [False, False, True, False, False, True]


def test_threshold_both():
    both = ast.Threshold("both", "by_src", 2, 60)
    assert _alerts_over_time(both, [0, 1, 2, 3, 61, 62]) == [False, True, False, False, False,
                                                            True]


def test_threshold_is_per_tracked_host():
    rule = make_rule(ast.Content(b"x"), ast.Threshold("limit", "by_src", 1, 60))
    det = compile_rules([rule]).detector
    th = ThresholdTable()
    hits = [bool(det.inspect_packet(make_packet(b"x", src=s), b"x", None, None, th))
            for s in ("10.0.0.1", "10.0.0.1", "10.0.0.9")]
    assert hits == [True, False, True]


def test_base64_decode_then_base64_data():
    rule = make_rule(ast.Content(b"auth "), ast.Base64Decode(relative=True),
                     ast.Content(b"admin", buffer="base64_data"))
    assert matches(rule, make_packet(b"auth YWRtaW46c2VjcmV0"))
    assert not matches(rule, make_packet(b"auth dXNlcjpzZWNyZXQ="))


@pytest.mark.parametrize("opt,reason", [
    (ast.Unsupported("dce_iface", "4b324fc8"), "not a UUID"),
    (ast.Unsupported("dce_opnum", "3-1"), "bad range"),
    (ast.Content(b"x"), None),      # replaced below: payload content next to dce_opnum
    (ast.Unsupported("ssl_state", "client_hola"), "unknown state 'client_hola'"),
    (ast.Unsupported("sip_method", "INVITE"), "SIP"),
    (ast.Pcre("(unclosed"), "pcre"),
])
def test_unsupported_rules_are_rejected_with_a_reason(opt, reason):
    opts = [opt]
    if reason is None:
        opts, reason = [opt, ast.Unsupported("dce_opnum", "1")], "DCE/RPC keywords mixed"
    with pytest.raises(SignatureRejected, match=reason):
        compile_rule(make_rule(*opts), 0)


def test_rule_report_lists_dropped_rules_and_caveats():
    ok = make_rule(ast.Content(b"x"), ast.Unsupported("tag", "session,10,packets"))
    bad = make_rule(ast.Unsupported("sip_method", "INVITE"))
    compiled = compile_rules([ok, bad])
    assert compiled.loaded == 1 and compiled.dropped == 1
    by_sid = {p.sid: p for p in compiled.report}
    assert by_sid[bad.sid].dropped and "SIP" in by_sid[bad.sid].reason
    assert not by_sid[ok.sid].dropped and "tag" in by_sid[ok.sid].reason
    gid, sid, reason = by_sid[bad.sid]
    assert (gid, sid) == (1, bad.sid)


def test_fast_pattern_choice():
    sig = compile_rule(make_rule(ast.Content(b"long pattern"),
                                 ast.Content(b"fastpat", fast_pattern=True)), 0)
    assert sig.fast == ("pkt_data", b"fastpat", False)
    sig = compile_rule(make_rule(ast.Content(b"long pattern"),
                                 ast.Content(b"fp", fast_pattern=True)), 0)
    assert sig.fast == ("pkt_data", b"fp", False)
    sig = compile_rule(make_rule(ast.Content(b"ab"), ast.Content(b"longest", nocase=True),
                                 ast.Content(b"negated and longer", negated=True)), 0)
    assert sig.fast == ("pkt_data", b"longest", True)
    assert compile_rule(make_rule(ast.Content(b"zz", negated=True)), 0).fast is None


@pytest.mark.parametrize("syntax,size,expected", [
    ("snort2", 3, False), ("snort2", 4, True), ("snort2", 5, False),
    ("snort3", 3, True), ("snort3", 5, True),
])
def test_snort2_dsize_range_is_exclusive_like_suricata(syntax, size, expected):
    rule = make_rule(N("dsize", "<=>", 3, 5), syntax=syntax)
    assert matches(rule, make_packet(b"x" * size)) is expected


def test_short_fast_patterns_still_find_their_rules():
    rule = make_rule(ast.Content(b"|"), ast.Content(b"Q", nocase=True), dst_ports=ports((80, 80)))
    assert compile_rule(rule, 0).fast[1] in (b"|", b"Q")
    assert matches(rule, make_packet(b"a|q", dport=80))
    assert not matches(rule, make_packet(b"a|q", dport=81))
    assert not matches(rule, make_packet(b"aq", dport=80))
