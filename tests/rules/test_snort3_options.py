"""Snort 3 syntax: sticky buffers, comma sub-options, service headers, bufferlen."""

from __future__ import annotations

from typing import Any

import pytest

from dpictl.rules.ast import BerData, BerSkip, Content, NumericTest, Pcre

from .helpers import fields, options, rule

SNORT3 = "alert http"


@pytest.mark.parametrize("body, index, expected", [
    ('http_uri; content:"a"; content:"b",nocase,offset 4,depth 10,distance 0,within 5;', 1,
     {"buffer": "http_uri", "nocase": True, "offset": 4, "depth": 10, "distance": 0,
      "within": 5}),
    ('content:"x",fast_pattern,nocase;', 0,
     {"fast_pattern": True, "nocase": True, "buffer": "pkt_data"}),
    ('content:"abcdef",fast_pattern,fast_pattern_offset 1,fast_pattern_length 2;', 0,
     {"fast_pattern_range": (1, 2)}),
    ('http_header:field user-agent; content:"Mozilla",fast_pattern;', 0,
     {"buffer": "http_header", "field": "user-agent"}),
    ('http_param:"ID",nocase; content:"1";', 0, {"buffer": "http_param", "field": "id"}),
    ('http_client_body; content:"a"; pkt_data; content:"b";', 1,
     {"buffer": "pkt_data", "field": None}),
    ('file_data; content:"a"; raw_data; content:"b";', 1, {"buffer": "raw_data"}),
    ('http_header:field host; content:"a"; http_uri; content:"b";', 1,
     {"buffer": "http_uri", "field": None}),
    ('content:"a",within string_size,distance len;', 0,
     {"within": "string_size", "distance": "len"}),
])
def test_sticky_buffers_and_sub_options(body: str, index: int,
                                        expected: dict[str, Any]) -> None:
    node = options(body, SNORT3)[index]
    assert isinstance(node, Content)
    assert fields(node, **expected) == expected


def test_sticky_buffer_applies_to_pcre_and_byte_options_until_the_next_buffer() -> None:
    opts = options('http_uri; content:"a"; pcre:"/b/i"; isdataat:1,relative; '
                   'byte_test:1,>,2,0,relative; bufferlen:>10; file_data; pcre:"/c/";', SNORT3)
    assert [getattr(o, "buffer") for o in opts] == [
        "http_uri", "http_uri", "http_uri", "http_uri", "http_uri", "file_data"]
    assert isinstance(opts[1], Pcre) and opts[1].flags == "i"


@pytest.mark.parametrize("value, expected", [
    (">10", {"op": ">", "value": 10, "high": None}),
    ("11<=>20", {"op": "<=>", "value": 11, "high": 20}),
    ("5<>9", {"op": "<>", "value": 5, "high": 9}),
    (">=519,relative", {"op": ">=", "value": 519, "relative": True}),
    ("7", {"op": "=", "value": 7}),
])
def test_bufferlen(value: str, expected: dict[str, Any]) -> None:
    (node,) = options(f"http_raw_uri; bufferlen:{value};", SNORT3)
    assert isinstance(node, NumericTest)
    assert node.keyword == "bufferlen" and node.buffer == "http_raw_uri"
    assert fields(node, **expected) == expected


def test_service_header_has_no_addresses() -> None:
    r = rule('msg:"m"; flow:to_server,established; service:http,ssl; gid:1; sid:42;', SNORT3)
    assert (r.proto, r.services, r.syntax) == ("http", ("http", "ssl"), "snort3")
    assert r.src.any and r.dst.any and r.src_ports.any and r.dst_ports.any


def test_service_rule_with_addresses() -> None:
    r = rule('content:"x";', "alert http any $HTTP_PORTS -> $HOME_NET any")
    assert r.proto == "http" and r.services == ("http",)
    assert not r.src_ports.any and (80, 90) in r.src_ports.include


def test_gid_and_service_option_on_a_full_header() -> None:
    r = rule('http_uri; content:"x"; service:http; gid:3; sid:99; rev:2;')
    assert (r.gid, r.sid, r.rev, r.key, r.syntax) == (3, 99, 2, (3, 99), "snort3")
    assert r.options[0].buffer == "http_uri"


def test_buffer_keyword_before_any_content_means_snort3() -> None:
    r = rule('http_uri; content:"x";')
    assert r.syntax == "snort3" and r.options[0].buffer == "http_uri"


def test_unknown_content_sub_option_is_an_error() -> None:
    from dpictl.errors import RuleSyntaxError
    with pytest.raises(RuleSyntaxError, match="unknown content modifier 'sideways'"):
        options('content:"x",sideways;', SNORT3)


def test_ber_options_keep_their_place_and_buffer() -> None:
    opts = options('content:"|06 03 55 1D 1E|"; ber_skip:0x01,optional; ber_data:0x04; '
                   'ber_data:48; content:"|81 82|",within 2; file_data; ber_skip:0xa0;',
                   "alert ssl")
    assert opts[1:4] == [BerSkip(0x01, optional=True), BerData(0x04), BerData(0x30)]
    assert opts[5] == BerSkip(0xA0, buffer="file_data")
    assert all(o.relative for o in opts[1:4])


@pytest.mark.parametrize("body, message", [
    ("ber_data:0x130;", "ber_data type must be 0..255"),
    ("ber_data;", "ber_data takes one BER type"),
    ("ber_data:0x30,optional;", "ber_data takes one BER type"),
    ("ber_skip:x;", "ber_skip type needs a number"),
    ("ber_skip:1,sometimes;", "unknown ber_skip argument 'sometimes'"),
    ("ber_skip:1,optional,optional;", "ber_skip takes a BER type"),
])
def test_bad_ber_options_are_one_line_errors(body: str, message: str) -> None:
    from dpictl.errors import RuleSyntaxError
    with pytest.raises(RuleSyntaxError, match=message):
        options(body, "alert ssl")
