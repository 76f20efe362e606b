"""Snort 2.9 syntax: content modifiers fold into the content before them, pcre flags name
buffers, relative byte_*/isdataat continue in the buffer of the last match."""

from __future__ import annotations

from typing import Any

import pytest

from dpictl.rules.ast import ByteTest, Content, IsDataAt, Pcre

from .helpers import fields, options, rule


@pytest.mark.parametrize("body, index, expected", [
    ('content:"a"; http_uri; content:"b";', 0, {"pattern": b"a", "buffer": "http_uri"}),
    ('content:"a"; http_uri; content:"b";', 1, {"pattern": b"b", "buffer": "pkt_data"}),
    ('content:"a"; nocase; depth:3; offset:1;', 0,
     {"nocase": True, "depth": 3, "offset": 1, "buffer": "pkt_data"}),
    ('content:"a"; content:"b"; distance:0; within:5; http_header;', 1,
     {"distance": 0, "within": 5, "buffer": "http_header"}),
    ('content:"a"; distance:-4; within:len;', 0, {"distance": -4, "within": "len"}),
    ('content:"a"; fast_pattern:only; http_header;', 0,
     {"fast_pattern": True, "fast_pattern_only": True, "buffer": "http_header"}),
    ('content:"abcdef"; fast_pattern:2,3;', 0,
     {"fast_pattern": True, "fast_pattern_range": (2, 3), "fast_pattern_only": False}),
    ('content:"a"; fast_pattern;', 0, {"fast_pattern": True, "fast_pattern_only": False}),
    ('content:"a"; rawbytes;', 0, {"rawbytes": True, "buffer": "raw_data"}),
    ('uricontent:"a"; nocase;', 0, {"buffer": "http_uri", "nocase": True}),
    ('content:"POST"; http_method; content:"x"; http_client_body;', 1,
     {"buffer": "http_client_body"}),
    ('content:"c"; http_cookie; content:"d"; http_raw_cookie;', 1,
     {"buffer": "http_raw_cookie"}),
    ('content:"200"; http_stat_code; content:"OK"; http_stat_msg;', 1,
     {"buffer": "http_stat_msg"}),
    # file_data is sticky in 2.9; an explicit modifier still wins for its own content
    ('file_data; content:"a"; content:"b"; http_header;', 0, {"buffer": "file_data"}),
    ('file_data; content:"a"; content:"b"; http_header;', 1, {"buffer": "http_header"}),
    ('file_data; content:"a"; pkt_data; content:"b";', 1, {"buffer": "pkt_data"}),
])
def test_content_modifiers(body: str, index: int, expected: dict[str, Any]) -> None:
    node = options(body)[index]
    assert isinstance(node, Content)
    assert fields(node, **expected) == expected


@pytest.mark.parametrize("flags, buffer", [
    ("U", "http_uri"), ("I", "http_raw_uri"), ("P", "http_client_body"),
    ("H", "http_header"), ("D", "http_raw_header"), ("M", "http_method"),
    ("C", "http_cookie"), ("K", "http_raw_cookie"), ("S", "http_stat_code"),
    ("Y", "http_stat_msg"), ("", "pkt_data"), ("smi", "pkt_data"), ("B", "raw_data"),
])
def test_pcre_buffer_flags(flags: str, buffer: str) -> None:
    (node,) = options(f'pcre:"/a+b/{flags}";')
    assert isinstance(node, Pcre)
    assert node.buffer == buffer
    assert node.flags == "".join(f for f in flags if f in "ismxAEG")


@pytest.mark.parametrize("value, expected", [
    ('"/x/Ri"', {"relative": True, "flags": "i", "negated": False}),
    ('!"/x/O"', {"negated": True, "flags": ""}),
    ('"/a\\/b/smiU"', {"pattern": "a\\/b", "flags": "smi", "buffer": "http_uri"}),
    ('"/x/B"', {"rawbytes": True}),
    ('"/^\\x3b\\;/AEG"', {"pattern": "^\\x3b\\;", "flags": "AEG"}),
])
def test_pcre_values(value: str, expected: dict[str, Any]) -> None:
    (node,) = options(f"pcre:{value};")
    assert fields(node, **expected) == expected


def test_relative_byte_options_continue_in_the_buffer_of_the_last_match() -> None:
    opts = options('content:"Content-Length: "; http_raw_header; '
                   'byte_test:10,>,95,0,relative,string,dec; isdataat:5,relative; '
                   'content:"x"; byte_test:1,=,1,0;')
    assert isinstance(opts[1], ByteTest) and opts[1].buffer == "http_raw_header"
    assert isinstance(opts[2], IsDataAt) and opts[2].buffer == "http_raw_header"
    assert opts[4].buffer == "pkt_data"       # after a plain content: back in the packet


def test_metadata_service_becomes_a_service_and_metadata_is_kept() -> None:
    r = rule('msg:"m"; metadata:policy max-detect-ips drop, ruleset community, service http;'
             ' classtype:trojan-activity; sid:7; rev:3;')
    assert r.services == ("http",)
    assert r.metadata == ("policy max-detect-ips drop", "ruleset community", "service http")
    assert (r.sid, r.rev, r.gid, r.syntax) == (7, 3, 1, "snort2")


def test_ambiguous_rule_with_modifier_after_content_is_snort2() -> None:
    # no telltale keyword: a buffer keyword after the content means "modifier"
    r = rule('content:"a"; http_uri;')
    assert r.syntax == "snort2" and r.options[0].buffer == "http_uri"


def test_snort2_rule_in_a_file_that_also_holds_snort3_rules() -> None:
    from dpictl.rules import parse_rules_text
    rs = parse_rules_text('alert http (msg:"s3"; http_uri; content:"a"; sid:1;)\n'
                          'alert tcp any any -> any 80 (msg:"s2"; content:"b"; http_uri; sid:2;)\n'
                          'alert tcp any any -> any 80 (msg:"s3 too"; http_uri; content:"c"; sid:3;)\n')
    assert [(r.syntax, r.options[0].buffer) for r in rs.rules] == [
        ("snort3", "http_uri"), ("snort2", "http_uri"), ("snort3", "http_uri")]


def test_relative_pcre_without_buffer_flag_continues_in_the_last_match_buffer() -> None:
    opts = options('content:"id="; http_client_body; pcre:"/^\\d+/R"; pcre:"/x/";')
    assert (opts[1].buffer, opts[1].relative) == ("http_client_body", True)
    assert opts[2].buffer == "pkt_data"
