"""flow, flowbits, flags, fragbits, numeric tests, stream_size, thresholds, unsupported."""

from __future__ import annotations

from typing import Any

import pytest

from dpictl.errors import RuleSyntaxError
from dpictl.rules.ast import Flags, Flow, Flowbits, Fragbits, NumericTest, Threshold, Unsupported

from .helpers import fields, options


@pytest.mark.parametrize("value, expected", [
    ("to_server,established", {"to_server": True, "established": True, "to_client": False}),
    ("established,from_client", {"to_server": True}),
    ("from_server", {"to_client": True}),
    ("stateless", {"stateless": True}),
    ("to_server,established,only_stream", {"only_stream": True}),
    ("to_server,no_stream", {"no_stream": True}),
    ("to_server, established", {"to_server": True, "established": True}),
])
def test_flow(value: str, expected: dict[str, Any]) -> None:
    (node,) = options(f"flow:{value};")
    assert isinstance(node, Flow)
    assert fields(node, **expected) == expected


@pytest.mark.parametrize("value, expected", [
    ("set,file.jpeg", ("set", ("file.jpeg",), False)),
    ("isset,a&b", ("isset", ("a", "b"), False)),
    ("isnotset,a|b", ("isnotset", ("a", "b"), True)),
    ("noalert", ("noalert", (), False)),
    ("setx,name,group", ("setx", ("name",), False)),
])
def test_flowbits(value: str, expected: tuple[str, tuple[str, ...], bool]) -> None:
    (node,) = options(f"flowbits:{value};")
    assert isinstance(node, Flowbits)
    assert (node.command, node.names, node.any_of) == expected


@pytest.mark.parametrize("value, expected", [
    ("S", ("S", "", "")),
    ("SF12", ("SFCE", "", "")),
    ("A+", ("A", "+", "")),
    ("RSF*", ("RSF", "*", "")),
    ("!R", ("R", "!", "")),
    ("AS,12", ("AS", "", "CE")),
    ("0", ("0", "", "")),
])
def test_flags(value: str, expected: tuple[str, str, str]) -> None:
    (node,) = options(f"flags:{value};")
    assert isinstance(node, Flags)
    assert (node.flags, node.modifier, node.mask) == expected


@pytest.mark.parametrize("value, expected", [("M+", ("M", "+")), ("!MDR", ("MDR", "!")),
                                             ("D", ("D", ""))])
def test_fragbits(value: str, expected: tuple[str, str]) -> None:
    (node,) = options(f"fragbits:{value};")
    assert isinstance(node, Fragbits)
    assert (node.bits, node.modifier) == expected


@pytest.mark.parametrize("option, expected", [
    ("dsize:>100", {"keyword": "dsize", "op": ">", "value": 100}),
    ("dsize:<5", {"op": "<", "value": 5}),
    ("dsize:300<>400", {"op": "<=>", "value": 300, "high": 400}),   # 2.9: inclusive
    ("urilen:5<>10", {"keyword": "urilen", "op": "<=>", "raw": True,
                      "buffer": "http_raw_uri"}),
    ("urilen:17,norm", {"op": "=", "value": 17, "raw": False, "buffer": "http_uri"}),
    ("urilen:>500,raw", {"op": ">", "raw": True, "buffer": "http_raw_uri"}),
    ("itype:8", {"keyword": "itype", "op": "=", "value": 8}),
    ("icode:>0", {"keyword": "icode", "op": ">", "value": 0}),
    ("icode:5<>10", {"op": "<>", "value": 5, "high": 10}),              # exclusive
    ("ttl:<5", {"op": "<", "value": 5}),
    ("ttl:3-5", {"op": "<=>", "value": 3, "high": 5}),
    ("ttl:-5", {"op": "<=", "value": 5}),
    ("id:31337", {"keyword": "id", "op": "=", "value": 31337}),
    ("icmp_id:678", {"keyword": "icmp_id", "value": 678}),
    ("icmp_seq:0", {"keyword": "icmp_seq", "value": 0}),
    ("ack:0", {"keyword": "ack", "value": 0}),
    ("seq:1958810375", {"keyword": "seq", "value": 1958810375}),
    ("window:!0", {"keyword": "window", "op": "!=", "value": 0}),
    ("ip_proto:!6", {"op": "!=", "value": 6}),
    ("ip_proto:igmp", {"op": "=", "value": 2}),
    ("stream_size:server,=,1", {"keyword": "stream_size", "op": "=", "value": 1,
                                "extra": "server"}),
    ("stream_size:1,to_client", {"op": "=", "value": 1, "extra": "server"}),
])
def test_numeric_tests(option: str, expected: dict[str, Any]) -> None:
    (node,) = options(f"{option};")
    assert isinstance(node, NumericTest)
    assert fields(node, **expected) == expected


def test_snort3_dsize_range_keeps_its_exclusive_meaning() -> None:
    (node,) = options("dsize:300<>400;", "alert tcp")
    assert (node.op, node.value, node.high) == ("<>", 300, 400)


@pytest.mark.parametrize("option, expected", [
    ("threshold:type limit, track by_src, count 1, seconds 60",
     Threshold("limit", "by_src", 1, 60)),
    ("threshold:type both,track by_dst,count 5,seconds 10", Threshold("both", "by_dst", 5, 10)),
    ("detection_filter:track by_src, count 30, seconds 60",
     Threshold("detection_filter", "by_src", 30, 60)),
])
def test_thresholds(option: str, expected: Threshold) -> None:
    assert options(f"{option};") == [expected]


@pytest.mark.parametrize("option, keyword, value", [
    ("dce_iface:uuid 4b324fc8-1670-01d3-1278-5a47bf6ee188", "dce_iface",
     "uuid 4b324fc8-1670-01d3-1278-5a47bf6ee188"),
    ('dce_opnum:"0-2"', "dce_opnum", '"0-2"'),
    ("ssl_state:client_hello", "ssl_state", "client_hello"),
    ("sip_method:invite", "sip_method", "invite"),
    ("tag:session,10,packets", "tag", "session,10,packets"),
    ("asn1:bitstring_overflow", "asn1", "bitstring_overflow"),
])
def test_unsupported_keywords_load_as_unsupported_nodes(option: str, keyword: str,
                                                         value: str | None) -> None:
    opts = options(f'content:"x"; {option};')
    assert opts[1] == Unsupported(keyword, value)


@pytest.mark.parametrize("body, message", [
    ("flow:sideways;", "unknown flow option"),
    ("flow:to_server,to_client;", "both"),
    ("flowbits:isset;", "needs a bit name"),
    ("flowbits:frobnicate,x;", "flowbits needs a command"),
    ("flags:SX;", "bad flags"),
    ("dsize:big;", "bad dsize"),
    ("threshold:type limit, track by_rule, count 1, seconds 1;", "by_src or by_dst"),
    ("detection_filter:track by_src, count 1;", "needs seconds"),
    ("nocase;", "must follow a content"),
    ("frobnicate:1;", "unknown rule option 'frobnicate'"),
])
def test_option_errors(body: str, message: str) -> None:
    with pytest.raises(RuleSyntaxError, match=message):
        options(body)
