"""Content-chain semantics: modifiers, relative matching with backtracking, negation,
pcre, byte_* and isdataat — each row a buffer that must (or must not) match."""

from __future__ import annotations

import time

import pytest

from dpictl.engine.detect.payload import ChainState, compile_chain, match_chain
from dpictl.rules.ast import (Base64Decode, ByteExtract, ByteJump, ByteMath, ByteTest, Content,
                              IsDataAt, Pcre)


def run(nodes, buf: bytes) -> bool:
    return match_chain(compile_chain(list(nodes)), buf, ChainState())


C = Content

CASES = [
    # plain, nocase, offset/depth
    ("plain", [C(b"abc")], b"xxabcxx", True),
    ("case matters", [C(b"ABC")], b"xxabcxx", False),
    ("nocase", [C(b"ABC", nocase=True)], b"xxabcxx", True),
    ("depth includes", [C(b"abc", depth=5)], b"xxabcxx", True),
    ("depth excludes", [C(b"abc", depth=4)], b"xxabcxx", False),
    ("offset excludes", [C(b"abc", offset=3)], b"xxabcxx", False),
    ("offset+depth window", [C(b"abc", offset=2, depth=3)], b"xxabcxx", True),
    ("offset+depth too short", [C(b"abc", offset=2, depth=2)], b"xxabcxx", False),
    # relative
    ("distance 0", [C(b"ab"), C(b"cd", distance=0)], b"abcd", True),
    ("distance 1 skips", [C(b"ab"), C(b"cd", distance=1)], b"abcd", False),
    ("within fits", [C(b"ab"), C(b"cd", within=4)], b"abxxcd", True),
    ("within too short", [C(b"ab"), C(b"cd", within=3)], b"abxxcd", False),
    ("distance+within window", [C(b"ab"), C(b"cd", distance=2, within=2)], b"abxxcd", True),
    ("negative distance", [C(b"cd"), C(b"bc", distance=-3, within=2)], b"abcd", True),
    # backtracking: the first "a=" is followed by the wrong thing, the second by "1"
    ("backtrack", [C(b"a="), C(b"1", within=1)], b"a=0 a=1", True),
    ("backtrack none", [C(b"a="), C(b"1", within=1)], b"a=0 a=2", False),
    ("backtrack through 3", [C(b"x"), C(b"y", within=1), C(b"z", within=1)], b"xyq xyz", True),
    ("absolute after relative does not backtrack forever",
     [C(b"a"), C(b"b", distance=0), C(b"zz", depth=2)], b"abab", False),
    # negation
    ("negated absent", [C(b"abc", negated=True)], b"xyz", True),
    ("negated present", [C(b"abc", negated=True)], b"xabc", False),
    ("negated relative absent in window", [C(b"GET "), C(b"1.1", within=3, negated=True)],
     b"GET 1.0 1.1", True),
    ("negated relative present", [C(b"GET "), C(b"1.0", within=3, negated=True)],
     b"GET 1.0", False),
    ("negated keeps cursor", [C(b"a"), C(b"q", negated=True, distance=0), C(b"b", within=1)],
     b"ab", True),
    # pcre
    ("pcre", [Pcre(r"a\d+b")], b"xxa123b", True),
    ("pcre i", [Pcre(r"ABC", flags="i")], b"abc", True),
    ("pcre no i", [Pcre(r"ABC")], b"abc", False),
    ("pcre s", [Pcre(r"a.b", flags="s")], b"a\nb", True),
    ("pcre no s", [Pcre(r"a.b")], b"a\nb", False),
    ("pcre m", [Pcre(r"^b", flags="m")], b"a\nb", True),
    ("pcre x", [Pcre(r"a b  c", flags="x")], b"abc", True),
    ("pcre negated", [Pcre(r"zz", negated=True)], b"abc", True),
    ("pcre relative anchors at cursor", [C(b"ab"), Pcre(r"^cd", relative=True)], b"abcd", True),
    ("pcre relative not before cursor", [C(b"cd"), Pcre(r"ab", relative=True)], b"abcd", False),
    ("pcre A anchored", [Pcre(r"bc", flags="A")], b"abc", False),
    ("pcre G ungreedy", [Pcre(r"a.+b", flags="G"), C(b"b", distance=0)], b"axbxb", True),
    ("pcre then relative content", [Pcre(r"id=\d+"), C(b";", within=1)], b"id=12;", True),
    ("pcre backtracks", [Pcre(r"k\d"), C(b"!", within=1)], b"k1 k2!", True),
    # isdataat
    ("isdataat absolute", [IsDataAt(3)], b"abcd", True),
    ("isdataat absolute past end", [IsDataAt(4)], b"abcd", False),
    ("isdataat relative", [C(b"ab"), IsDataAt(2, relative=True)], b"abcd", True),
    ("isdataat relative too far", [C(b"ab"), IsDataAt(3, relative=True)], b"abcd", False),
    ("isdataat negated", [C(b"ab"), IsDataAt(1, relative=True, negated=True)], b"ab", True),
    # byte_test
    ("byte_test >", [ByteTest(2, ">", 255, 0)], b"\x01\x00", True),
    ("byte_test little", [ByteTest(2, "=", 1, 0, endian="little")], b"\x01\x00", True),
    ("byte_test relative", [C(b"X"), ByteTest(1, "=", 7, 0, relative=True)], b"aX\x07", True),
    ("byte_test negative offset", [C(b"X"), ByteTest(1, "=", 0x61, -2, relative=True)],
     b"aX\x07", True),
    ("byte_test &", [ByteTest(1, "&", 0x80, 0)], b"\x81", True),
    ("byte_test !&", [ByteTest(1, "!&", 0x80, 0)], b"\x01", True),
    ("byte_test string dec", [ByteTest(3, "=", 123, 0, string="dec")], b"123x", True),
    ("byte_test string hex", [ByteTest(2, "=", 0xff, 0, string="hex")], b"ff", True),
    ("byte_test string not digits", [ByteTest(2, "=", 0, 0, string="dec")], b"zz", False),
    ("byte_test out of range", [ByteTest(4, ">", 0, 2)], b"\x01\x02\x03", False),
    ("byte_test bitmask", [ByteTest(1, "=", 3, 0, bitmask=0xF0)], b"\x3a", True),
    # byte_jump
    ("byte_jump", [ByteJump(1, 0), C(b"Z", within=1)], b"\x02abZ", True),
    ("byte_jump wrong", [ByteJump(1, 0), C(b"Z", within=1)], b"\x01abZ", False),
    ("byte_jump align", [ByteJump(1, 0, align=4), C(b"Z", within=1)], b"\x02abcdZ", True),
    ("byte_jump multiplier", [ByteJump(1, 0, multiplier=2), C(b"Z", within=1)],
     b"\x01abZ", True),
    ("byte_jump from_beginning", [ByteJump(1, 0, from_beginning=True), C(b"Z", within=1)],
     b"\x03abZ", True),
    ("byte_jump post_offset", [ByteJump(1, 0, post_offset=-1), C(b"bZ", within=2)],
     b"\x02abZ", True),
    ("byte_jump to the end", [ByteJump(1, 0), IsDataAt(1, relative=True, negated=True)],
     b"\x02ab", True),
    ("byte_jump past the end fails", [ByteJump(1, 0)], b"\x03ab", False),
    ("byte_jump before start clamps", [ByteJump(1, 0, post_offset=-10), C(b"\x02", within=1)],
     b"\x02ab", True),
    ("byte_jump relative", [C(b"L"), ByteJump(1, 0, relative=True), C(b"Z", within=1)],
     b"L\x01xZ", True),
    # byte_extract / byte_math variables
    ("extract as depth", [ByteExtract(1, 0, "n"), C(b"abc", depth="n")], b"\x04abc", True),
    ("extract as depth short", [ByteExtract(1, 0, "n"), C(b"abc", depth="n")], b"\x03abc",
     False),
    ("extract as within", [ByteExtract(1, 0, "n", relative=False), C(b"c", within="n",
                                                                       distance=0)],
     b"\x03abc", True),
    ("extract moves cursor", [ByteExtract(1, 0, "n"), C(b"a", within=1)], b"\x00a", True),
    ("extract in byte_test", [ByteExtract(1, 0, "n"), ByteTest(1, ">", "n", 1)], b"\x02\x03",
     True),
    ("extract in byte_test false", [ByteExtract(1, 0, "n"), ByteTest(1, ">", "n", 1)],
     b"\x02\x01", False),
    ("extract unset var", [C(b"a", depth="nope")], b"a", False),
    ("byte_math", [ByteMath(1, 0, "+", 2, "r"), ByteTest(1, "=", "r", 1)], b"\x03\x05", True),
    ("byte_math *", [ByteMath(1, 0, "*", 3, "r"), ByteTest(1, "=", "r", 1)], b"\x02\x06", True),
    # base64_decode only decodes; tested with base64_data in test_signature
    ("base64_decode always passes", [Base64Decode()], b"!!!", True),
]


@pytest.mark.parametrize("name,nodes,buf,expected", CASES, ids=[c[0] for c in CASES])
def test_chain(name, nodes, buf, expected):
    assert run(nodes, buf) is expected


def test_backtracking_restores_extracted_variables():
    # the first "k" extracts 9 (too big), the second 1: within uses the second value
    nodes = [C(b"k"), ByteExtract(1, 0, "n", relative=True),
             C(b"z", distance=0, within="n")]
    assert run(nodes, b"k\x09xxxxxxxxxx k\x01z")


def test_hostile_pcre_returns_quickly():
    nodes = [Pcre(r"^(\w+\s?)*$")]
    buf = b"a" * 20000 + b"!"
    start = time.perf_counter()
    assert run(nodes, buf) is False
    assert time.perf_counter() - start < 0.5


def test_backtracking_is_bounded():
    # thousands of candidate "a"s, each failing: the step budget bounds the work
    nodes = [C(b"a"), C(b"a", distance=0), C(b"a", distance=0), C(b"b", within=1)]
    start = time.perf_counter()
    assert run(nodes, b"a" * 5000) is False
    assert time.perf_counter() - start < 1.0


def test_relative_keyword_binds_past_absolute_ones_for_backtracking():
    # found by differential testing against Suricata 7.0.10: the negated relative content
    # fails after the first "ab"; Suricata retries "ab" although isdataat:5 and the
    # byte_test sit between them, and matches at the second occurrence
    nodes = [C(b"ab", depth=8), IsDataAt(5), ByteTest(1, ">", 97, 3, relative=True),
             C(b"ab", negated=True, within=7)]
    assert run(nodes, b"ababbbbccbcacba")


@pytest.mark.parametrize("nodes,buf,expected", [
    # relative content binds through an absolute keyword: retried (Suricata matches)
    ([C(b"x"), IsDataAt(1), C(b"B", within=1)], b"xAxB", True),
    ([C(b"x"), ByteTest(1, ">", 0, 0), C(b"B", within=1)], b"xAxB", True),
    # a relative byte_test right after the content: retried
    ([C(b"x"), ByteTest(1, "=", 66, 0, relative=True)], b"xAxB", True),
    # a relative byte_test after an absolute keyword is not bound: no retry (Suricata: none)
    ([C(b"bba", nocase=True), IsDataAt(4), ByteTest(1, "=", 97, 0, relative=True)],
     b"ccaacbbbabbaabcab", False),
])
def test_which_matches_are_retried_like_suricata(nodes, buf, expected):
    assert run(nodes, buf) is expected


@pytest.mark.parametrize("nodes,expected", [
    # measured on Suricata 7.0.10 with payload "abcdefgh"
    ([C(b"zz", negated=True), C(b"a", distance=0, within=1)], False),
    ([C(b"zz", negated=True), C(b"a", within=1)], True),
    ([C(b"zz", negated=True), C(b"c", distance=0, within=3)], True),
    ([C(b"zzz", negated=True), C(b"cd", distance=0, within=4)], False),
    ([C(b"zzz", negated=True), C(b"d", distance=0, within=4)], True),
])
def test_relative_content_after_absolute_negated_content(nodes, expected):
    assert run(nodes, b"abcdefgh") is expected


@pytest.mark.parametrize("nodes,buf,expected", [
    ([C(b"cbb"), IsDataAt(1, negated=True, relative=True)], b"xxcbb", True),
    ([C(b"cbb"), IsDataAt(1, negated=True, relative=True)], b"cbbxx", False),
    ([C(b"ab"), IsDataAt(1, negated=True, relative=True)], b"abxab", True),
    # negated: "does not end with" (Suricata folds the isdataat into endswith)
    ([C(b"cbb", negated=True), IsDataAt(1, negated=True, relative=True)], b"abbbaaca", True),
    ([C(b"cbb", negated=True), IsDataAt(1, negated=True, relative=True)], b"aacbb", False),
])
def test_isdataat_not_1_relative_is_endswith(nodes, buf, expected):
    assert run(nodes, buf) is expected
