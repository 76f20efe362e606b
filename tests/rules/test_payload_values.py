"""Content escapes and negation, byte_* forms, isdataat, base64."""

from __future__ import annotations

from typing import Any

import pytest

from dpictl.errors import RuleSyntaxError
from dpictl.rules.ast import (Base64Decode, ByteExtract, ByteJump, ByteMath, ByteTest, Content,
                              IsDataAt)
from dpictl.rules.content import decode_pattern

from .helpers import fields, options


@pytest.mark.parametrize("text, expected", [
    ("abc", b"abc"),
    ("|41 42|c", b"ABc"),
    ("|4142|", b"AB"),
    ("a|0D 0A|b|00|", b"a\r\nb\x00"),
    ('say \\"hi\\"', b'say "hi"'),
    ("semi\\;colon", b"semi;colon"),
    ("back\\\\slash", b"back\\slash"),
    ("|e2 82 ac|\u20ac", b"\xe2\x82\xac\xe2\x82\xac"),
])
def test_decode_pattern(text: str, expected: bytes) -> None:
    assert decode_pattern(text) == expected


@pytest.mark.parametrize("text, message", [
    ("|41 4|", "odd number"), ("|4G|", "bad hex"), ("a|41", "unclosed"),
])
def test_decode_pattern_errors(text: str, message: str) -> None:
    with pytest.raises(RuleSyntaxError, match=message):
        decode_pattern(text)


def test_negated_content_with_escapes_inside_a_rule() -> None:
    (node,) = options('content:!"|41|\\"\\;\\\\"; nocase;')
    assert isinstance(node, Content)
    assert (node.pattern, node.negated, node.nocase) == (b'A";\\', True, True)


def test_content_with_space_after_colon_and_semicolon_inside_string() -> None:
    (node,) = options('content: "a;b";')
    assert node.pattern == b"a;b" and not node.negated


@pytest.mark.parametrize("value, expected", [
    ("4,>,1000,0,relative,little",
     {"count": 4, "operator": ">", "value": 1000, "offset": 0, "relative": True,
      "endian": "little"}),
    ("2,!&,0x8000,0", {"operator": "!&", "value": 0x8000, "relative": False}),
    ("10,>,95,0,relative,string,dec", {"string": "dec", "relative": True}),
    ("4,>,1,0,string,hex,relative", {"string": "hex", "relative": True}),
    ("4,<,1,0,relative,string", {"string": "dec"}),
    ("4,=,uid,0,relative", {"value": "uid"}),
    ("2,=,1,0,relative,little,bitmask 0x3FFF", {"bitmask": 0x3FFF, "endian": "little"}),
    ("4,>,1,-4,relative,dce", {"offset": -4, "dce": True}),
    ("4, >, 5, 0", {"operator": ">", "value": 5}),
    ("1,>=,0x80,0,big", {"operator": ">=", "value": 128, "endian": "big"}),
])
def test_byte_test(value: str, expected: dict[str, Any]) -> None:
    (node,) = options(f"byte_test:{value};")
    assert isinstance(node, ByteTest)
    assert fields(node, **expected) == expected


@pytest.mark.parametrize("value, expected", [
    ("4,0,relative,align", {"count": 4, "offset": 0, "relative": True, "align": 4}),
    ("2,-10,relative,from_beginning,little,post_offset 2",
     {"offset": -10, "from_beginning": True, "endian": "little", "post_offset": 2}),
    ("4,12,relative,multiplier 2,string,hex", {"multiplier": 2, "string": "hex"}),
    ("4,0,relative,dce,align", {"dce": True, "align": 4}),
    ("4,len,from_end,post_offset -1", {"offset": "len", "from_end": True,
                                       "post_offset": -1}),
])
def test_byte_jump(value: str, expected: dict[str, Any]) -> None:
    (node,) = options(f"byte_jump:{value};")
    assert isinstance(node, ByteJump)
    assert fields(node, **expected) == expected


def test_byte_extract_then_use_of_its_variable() -> None:
    opts = options('byte_extract:4,0,len,relative,little; content:"x"; within:len; '
                   'isdataat:!len,relative;')
    assert isinstance(opts[0], ByteExtract)
    assert fields(opts[0], count=4, offset=0, name="len", relative=True, endian="little") == \
        {"count": 4, "offset": 0, "name": "len", "relative": True, "endian": "little"}
    assert opts[1].within == "len"
    assert isinstance(opts[2], IsDataAt)
    assert (opts[2].offset, opts[2].negated, opts[2].relative) == ("len", True, True)


def test_byte_math() -> None:
    (node,) = options("byte_math:bytes 2, offset 0, oper *, rvalue 8, result x, relative;")
    assert isinstance(node, ByteMath)
    assert (node.count, node.operator, node.rvalue, node.result, node.relative) == \
        (2, "*", 8, "x", True)


@pytest.mark.parametrize("body, message", [
    ("byte_test:4,~,1,0;", "operator"),
    ("byte_test:4,>,1;", "at least 4"),
    ("byte_test:11,>,1,0;", "1..10"),
    ("byte_jump:4,0,sideways;", "unknown byte_jump argument"),
    ("byte_math:bytes 2, offset 0, oper %, rvalue 8, result x;", "oper"),
    ("isdataat:5,sideways;", "unknown isdataat argument"),
])
def test_byte_option_errors(body: str, message: str) -> None:
    with pytest.raises(RuleSyntaxError, match=message):
        options(body)


def test_base64_decode_and_base64_data() -> None:
    opts = options('content:"Basic "; base64_decode:bytes 12, offset 0, relative; '
                   'base64_data; content:"admin";')
    assert isinstance(opts[1], Base64Decode)
    assert (opts[1].bytes, opts[1].offset, opts[1].relative) == (12, 0, True)
    assert opts[2].buffer == "base64_data"
