"""The community rules that use ber_data/ber_skip (300306, 300307: OpenSSL x509 email
address overflow, CVE-2022-3602) and `bufferlen:...,relative` (3087: IIS w3who.dll) load
from the Snort 3 file and fire through the engine on crafted sessions that satisfy them,
and not on near misses. Suricata has no BER keywords, so the oracle cannot judge these."""

from __future__ import annotations

import pytest
from tls_sessions import (HANDSHAKE, TLS10, TLS12, Session, certificate, client_hello, record,
                          server_hello)

from dpictl.engine import Engine
from dpictl.rules import load_rules

SIDS = {300306, 300307, 3087}


def tlv(tag: int, body: bytes) -> bytes:
    n = len(body)
    if n < 0x80:
        return bytes([tag, n]) + body
    size = (n.bit_length() + 7) // 8
    return bytes([tag, 0x80 | size]) + n.to_bytes(size, "big") + body


def certificate_with_name_constraints(subtree_tag: int, name: bytes) -> bytes:
    """A certificate-shaped DER blob whose nameConstraints extension holds one rfc822Name
    (with a two-byte long-form length, as the rules expect) in permitted (0xa0) or
    excluded (0xa1) subtrees."""
    general_name = bytes([0x81, 0x82]) + len(name).to_bytes(2, "big") + name
    constraints = tlv(0x30, tlv(subtree_tag, tlv(0x30, general_name)))
    extension = tlv(0x30, b"\x06\x03\x55\x1d\x1e" + tlv(0x01, b"\xff") + tlv(0x04, constraints))
    subject = tlv(0x30, tlv(0x31, tlv(0x30, b"\x06\x03\x55\x04\x03" + tlv(0x0c, b"test"))))
    tbs = tlv(0x30, b"\xa0\x03\x02\x01\x02" + subject + tlv(0xa3, tlv(0x30, extension)))
    return tlv(0x30, tbs + tlv(0x30, b"\x06\x09" + bytes(9)) + tlv(0x03, b"\x00" + bytes(64)))


@pytest.fixture(scope="module")
def engine_rules(shared_dir):
    ruleset = load_rules([shared_dir / "rules" / "snort3-community.rules"])
    rules = [r for r in ruleset.rules if r.sid in SIDS]
    assert {r.sid for r in rules} == SIDS
    return rules


def fired(rules, session: Session) -> list[int]:
    engine = Engine(rules)
    assert engine.stats["rules_loaded"] == len(SIDS)       # none dropped as not evaluable
    dets = []
    for i, frame in enumerate(session.frames()):
        dets += engine.feed(1700000000.0 + i * 0.001, frame, 1)
    dets += engine.flush()
    return sorted(d.sid for d in dets)


def tls_session(cert: bytes, sport: int) -> Session:
    s = Session(sport=sport)
    s.send(True, record(HANDSHAKE, TLS10, client_hello(TLS12)))
    s.send(False, record(HANDSHAKE, TLS12, server_hello() + certificate(cert)))
    return s


@pytest.mark.parametrize("subtree, name, expected", [
    (0xA1, b"xn--" + b"a" * 600, [300306]),          # excluded subtrees
    (0xA0, b"xn--" + b"a" * 600, [300307]),          # permitted subtrees
    (0xA1, b"xn--" + b"a" * 400, []),                # the name is not long enough
    (0xA0, b"xx--" + b"a" * 600, []),                # not a punycode label
])
def test_ber_rules_walk_the_certificate(engine_rules, subtree, name, expected):
    cert = certificate_with_name_constraints(subtree, name)
    assert fired(engine_rules, tls_session(cert, 42000 + len(name) + subtree)) == expected


def test_ber_rules_stay_silent_when_the_extension_is_not_ber(engine_rules):
    cert = certificate_with_name_constraints(0xA1, b"xn--" + b"a" * 600)
    broken = cert.replace(b"\x06\x03\x55\x1d\x1e\x01\x01\xff\x04\x82",
                          b"\x06\x03\x55\x1d\x1e\x01\x01\xff\x04\x80")    # indefinite length
    assert broken != cert
    assert fired(engine_rules, tls_session(broken, 42999)) == []


@pytest.mark.parametrize("tail, expected", [(519, [3087]), (518, []), (2000, [3087])])
def test_w3who_rule_counts_the_uri_bytes_after_the_match(engine_rules, tail, expected):
    s = Session(sport=43000 + tail, dport=80)
    s.send(True, b"GET /scripts/w3who.dll?" + b"A" * tail + b" HTTP/1.1\r\nHost: h\r\n\r\n")
    s.send(False, b"HTTP/1.1 404 Not Found\r\nContent-Length: 0\r\n\r\n")
    assert fired(engine_rules, s) == expected
