"""ber_data / ber_skip / bufferlen:...,relative: the BER reader on crafted elements, and the
three keywords as steps of a content chain (cursor moves, failures, backtracking)."""

from __future__ import annotations

import pytest

from dpictl.engine.detect.ber import BerElement, ber_data, ber_skip, read_element
from dpictl.engine.detect.payload import ChainState, compile_chain, match_chain
from dpictl.rules.ast import BerData, BerSkip, ByteTest, Content, NumericTest


def tlv(tag: int, body: bytes, long_length: int = 0) -> bytes:
    """One BER element; `long_length` forces the long length form with that many bytes."""
    n = len(body)
    if n < 0x80 and not long_length:
        return bytes([tag, n]) + body
    size = long_length or (n.bit_length() + 7) // 8
    return bytes([tag, 0x80 | size]) + n.to_bytes(size, "big") + body


@pytest.mark.parametrize("data, expected", [
    (b"\x30\x03abc", BerElement(0x30, 2, 5)),
    (b"\x04\x00", BerElement(0x04, 2, 2)),                       # empty contents
    (b"\x30\x81\x80" + bytes(128), BerElement(0x30, 3, 131)),    # long form, one byte
    (b"\x30\x82\x01\x00", BerElement(0x30, 4, 260)),             # contents may be missing
    (b"\x30\x84\x00\x00\x00\x05", BerElement(0x30, 6, 11)),      # zero padding in length
    (b"\x30\x85\x00\x00\x00\x00\x05", BerElement(0x30, 7, 12)),  # padding is not counted
    (b"\x1f\x81\x00\x00", BerElement(0x80, 4, 4)),               # high tag number 128
    (b"\x1f\x80\x05\x00", BerElement(0x05, 4, 4)),               # leading 0x80 padding
])
def test_read_element(data: bytes, expected: BerElement) -> None:
    assert read_element(data, 0) == expected


@pytest.mark.parametrize("data", [
    b"",                              # nothing at the cursor
    b"\x30",                          # no length octet
    b"\x30\x80abc\x00\x00",           # indefinite length
    b"\x30\x82\x01",                  # long form cut short
    b"\x30\x85\x01\x00\x00\x00\x00",  # five significant length bytes: overlong
    b"\x1f\x81",                      # high tag number cut short
    b"\x1f\x81\x82\x83\x84\x05\x00",  # high tag number over four base-128 digits
])
def test_unreadable_elements_fail(data: bytes) -> None:
    assert read_element(data, 0) is None


def test_read_element_at_or_past_the_end_fails() -> None:
    assert read_element(b"\x30\x00", 2) is None
    assert read_element(b"\x30\x00", -1) is None


def test_ber_data_moves_to_the_contents_and_checks_the_type() -> None:
    data = b"xx" + tlv(0x30, tlv(0x04, b"hi"))
    assert ber_data(BerData(0x30), data, 2) == 4
    assert ber_data(BerData(0x04), data, 4) == 6
    assert ber_data(BerData(0x31), data, 2) is None
    # only the header must be in the buffer (the contents of a truncated element may not)
    assert ber_data(BerData(0x30), b"\x30\x82\x10\x00ab", 0) == 4


def test_ber_skip_moves_past_the_element_and_optional_is_a_no_op_on_another_type() -> None:
    data = tlv(0x01, b"\xff") + tlv(0x04, b"abc")
    assert ber_skip(BerSkip(0x01), data, 0) == 3
    assert ber_skip(BerSkip(0x01), data, 3) is None
    assert ber_skip(BerSkip(0x01, optional=True), data, 3) == 3
    assert ber_skip(BerSkip(0x04), data, 3) == len(data)
    # the whole element must be in the buffer, optional or not
    assert ber_skip(BerSkip(0x04, optional=True), b"\x04\x05abc", 0) is None
    # an unreadable element fails even when optional (Snort 3)
    assert ber_skip(BerSkip(0x01, optional=True), b"\x30\x80", 0) is None
    assert ber_skip(BerSkip(0x01, optional=True), b"", 0) is None


def run(nodes, buf: bytes) -> bool:
    return match_chain(compile_chain(list(nodes)), buf, ChainState())


# The x509 nameConstraints walk of the community rules 300306/300307, on a crafted extension
def name_constraints(subtree_tag: int, name: bytes, critical: bool = True) -> bytes:
    general_name = tlv(0x81, name, long_length=2)            # rfc822Name [1]
    value = tlv(0x30, tlv(subtree_tag, tlv(0x30, general_name)))
    return (b"\x06\x03\x55\x1d\x1e" + (tlv(0x01, b"\xff") if critical else b"")
            + tlv(0x04, value))


def walk(subtree_tag: int) -> list:
    return [Content(b"\x06\x03\x55\x1d\x1e"), BerSkip(0x01, optional=True), BerData(0x04),
            BerData(0x30), BerData(subtree_tag), BerData(0x30),
            Content(b"\x81\x82", within=2),
            ByteTest(2, ">", 500, 0, relative=True),
            Content(b"xn--", distance=2, within=4)]


@pytest.mark.parametrize("data, rule_tag, expected", [
    (name_constraints(0xA1, b"xn--" + b"a" * 600), 0xA1, True),
    (name_constraints(0xA1, b"xn--" + b"a" * 600, critical=False), 0xA1, True),
    (name_constraints(0xA0, b"xn--" + b"a" * 600), 0xA1, False),   # permitted, not excluded
    (name_constraints(0xA0, b"xn--" + b"a" * 600), 0xA0, True),
    (name_constraints(0xA1, b"xn--" + b"a" * 400), 0xA1, False),   # name too short
    (name_constraints(0xA1, b"abcd" + b"a" * 600), 0xA1, False),
    # a first, unrelated occurrence of the OID: the chain retries at the second one
    (b"\x06\x03\x55\x1d\x1e\x05\x00" + name_constraints(0xA1, b"xn--" + b"a" * 600),
     0xA1, True),
])
def test_nameconstraints_walk(data: bytes, rule_tag: int, expected: bool) -> None:
    assert run(walk(rule_tag), b"\x16\x03\x03" + data + b"tail") == expected


def length(op: str, value: int, high: int | None = None) -> NumericTest:
    return NumericTest("bufferlen", op, value, high, buffer="pkt_data", relative=True)


@pytest.mark.parametrize("nodes, buf, expected", [
    ([Content(b"/w3who.dll?"), length(">=", 5)], b"/w3who.dll?12345", True),
    ([Content(b"/w3who.dll?"), length(">=", 5)], b"/w3who.dll?1234", False),
    ([Content(b"/w3who.dll?"), length(">", 4)], b"/w3who.dll?12345", True),
    ([Content(b"/w3who.dll?"), length("<", 5)], b"/w3who.dll?12345", False),
    ([Content(b"/w3who.dll?"), length("=", 0)], b"xx/w3who.dll?", True),
    ([Content(b"ab"), length("<=>", 2, 3)], b"ab12", True),
    ([Content(b"ab"), length("<=>", 3, 4)], b"ab12", False),
    ([Content(b"ab"), length("<>", 1, 3)], b"ab12", True),
    # the whole buffer when nothing matched before it
    ([length(">=", 4)], b"1234", True),
    ([length(">=", 5)], b"1234", False),
    ([Content(b"ab"), length(">=", 4)], b"ab1ab", False),
    # the first "ab" leaves too many bytes, the second few enough: the content is retried
    ([Content(b"ab"), length("<", 3)], b"ab12345ab1", True),
    ([Content(b"ab"), length("<", 3)], b"ab12345ab123", False),
])
def test_bufferlen_relative_is_the_length_after_the_cursor(nodes, buf: bytes,
                                                          expected: bool) -> None:
    assert run(nodes, buf) == expected
