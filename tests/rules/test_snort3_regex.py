"""Snort 3 `regex`: parsed into a Pcre node, refused where Snort 3 refuses it, matching
exactly as the equivalent pcre does, and written for Suricata as that pcre."""

from __future__ import annotations

import random

import pytest
from scapy.layers.inet import IP, UDP
from scapy.layers.l2 import Ether

from dpictl.engine import Engine
from dpictl.errors import RuleSyntaxError
from dpictl.rules import parse_rules_text
from dpictl.rules.ast import Pcre
from dpictl.suricata.translate import translate_rule

from .helpers import fields, options, rule

SNORT3 = "alert udp any any -> any any"


@pytest.mark.parametrize("body, expected", [
    ('regex:"/^file\\x3a\\x2f\\x2f[^\\n]{4}/mi",fast_pattern;',
     {"pattern": "^file\\x3a\\x2f\\x2f[^\\n]{4}", "flags": "mi", "relative": False,
      "buffer": "pkt_data", "negated": False}),
    ('content:"a"; regex:"/b+c/R",nocase;', {"flags": "i", "relative": True}),
    ('http_uri; regex:"/\\x2fvuln\\x2ephp/si";', {"buffer": "http_uri", "flags": "si"}),
    ('http_header:field user-agent; regex:"/curl/";',
     {"buffer": "http_header", "field": "user-agent"}),
])
def test_regex_becomes_a_pcre_node(body: str, expected: dict) -> None:
    node = [o for o in options(body, SNORT3) if isinstance(o, Pcre)][0]
    assert fields(node, **expected) == expected


def test_a_rule_with_regex_is_snort3() -> None:
    assert rule('regex:"/x/";', SNORT3).syntax == "snort3"


@pytest.mark.parametrize("body, message", [
    ('regex:!"/x/";', "cannot be negated"),
    ('regex:"/x/U";', "unknown regex flag 'U'"),
    ('regex:"/x/A";', "unknown regex flag 'A'"),
    ('regex:"x";', "/regex/flags"),
    ('regex:"/x/",relative;', "unknown regex sub-option"),
    ('regex:"/(a)\\1/";', "not hyperscan-compatible"),          # back-reference
    ('regex:"/(?<=a)b/";', "not hyperscan-compatible"),          # look-behind
    ('regex:"/a*/";', "not hyperscan-compatible"),               # matches the empty string
])
def test_what_snort3_refuses_is_refused(body: str, message: str) -> None:
    with pytest.raises(RuleSyntaxError, match=message):
        rule(body, SNORT3)


def test_regex_translates_to_the_equivalent_pcre() -> None:
    r = rule('msg:"m"; content:"GET"; regex:"/\\s+\\/admin/R",nocase; sid:7;',
             "alert tcp any any -> any 80")
    text = translate_rule(r)
    assert 'pcre:"/\\s+\\/admin/iR"' in text and "regex" not in text


def test_regex_matches_exactly_like_the_equivalent_pcre() -> None:
    """Random patterns over a small alphabet, with i/s/m and R after a content: the regex
    rule and its pcre twin alert on exactly the same packets."""
    rnd = random.Random(5)
    alphabet = "abAB\n"
    pairs = []
    for n in range(1, 121):
        atom = ("^" if rnd.random() < 0.2 else "") + "".join(
            rnd.choice(["a", "b", "[ab]", ".", "A", "(a|B)"])
            for _ in range(rnd.randint(1, 3))) + "+" + ("$" if rnd.random() < 0.2 else "")
        flags = "".join(f for f in "ism" if rnd.random() < 0.4)
        rel = rnd.random() < 0.4
        prefix = 'content:"a"; ' if rel else ""
        pairs.append((f'{prefix}regex:"/{atom}/{flags}{"R" if rel else ""}";',
                       f'{prefix}pcre:"/{atom}/{flags}{"R" if rel else ""}";', n))
    text = "".join(f'{SNORT3} (msg:"r"; {r} sid:{n};)\n{SNORT3} (msg:"p"; {p} sid:{n + 1000};)\n'
                   for r, p, n in pairs)
    ruleset = parse_rules_text(text)
    assert not ruleset.errors
    engine = Engine(ruleset.rules)
    regex_hits = pcre_hits = 0
    for i in range(300):
        payload = "".join(rnd.choice(alphabet) for _ in range(rnd.randint(1, 12))).encode()
        frame = bytes(Ether() / IP(src="10.0.0.1", dst="10.0.0.2") /
                      UDP(sport=1000 + i, dport=53) / payload)
        sids = {a.sid for a in engine.feed(1.0 + i, frame, 1)}
        regex_sids = {s for s in sids if s < 1000}
        assert regex_sids == {s - 1000 for s in sids if s > 1000}, payload
        regex_hits += len(regex_sids)
        pcre_hits += len(sids) - len(regex_sids)
    assert regex_hits == pcre_hits > 1000
