"""Snort 3 `regex`: parsed into a Pcre node, refused where Snort 3 refuses it, matching
exactly as the equivalent pcre does, and written for Suricata as that pcre."""

from __future__ import annotations

import json
import random
import shutil
import subprocess

import pytest
from scapy.layers.inet import IP, UDP
from scapy.layers.l2 import Ether
from scapy.utils import wrpcap

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


def _twins(rnd: random.Random, count: int) -> list[tuple[str, str]]:
    """(regex options, pcre options) pairs over a small alphabet, with i/s/m, anchors, and
    R after a content."""
    pairs = []
    for _ in range(count):
        atom = ("^" if rnd.random() < 0.2 else "") + "".join(
            rnd.choice(["a", "b", "[ab]", ".", "A", "(a|B)"])
            for _ in range(rnd.randint(1, 3))) + "+" + ("$" if rnd.random() < 0.2 else "")
        flags = "".join(f for f in "ism" if rnd.random() < 0.4) + (
            "R" if rnd.random() < 0.4 else "")
        prefix = 'content:"a"; ' if "R" in flags else ""
        pairs.append((f'{prefix}regex:"/{atom}/{flags}";', f'{prefix}pcre:"/{atom}/{flags}";'))
    return pairs


def _frames(rnd: random.Random, count: int) -> list[bytes]:
    return [bytes(Ether() / IP(src="10.0.0.1", dst="10.0.0.2") / UDP(sport=1000 + i, dport=53)
                  / "".join(rnd.choice("abAB\n") for _ in range(rnd.randint(1, 12))).encode())
            for i in range(count)]


def _alerts(rules: str, frames: list[bytes]) -> set[tuple[int, int]]:
    ruleset = parse_rules_text(rules)
    assert not ruleset.errors
    engine = Engine(ruleset.rules)
    return {(a.sid, 1000 + i) for i, frame in enumerate(frames)
            for a in engine.feed(1.0 + i, frame, 1)}


def test_regex_matches_exactly_like_the_equivalent_pcre() -> None:
    rnd = random.Random(5)
    pairs = _twins(rnd, 120)
    text = "".join(f'{SNORT3} (msg:"r"; {r} sid:{n};)\n{SNORT3} (msg:"p"; {p} sid:{n + 1000};)\n'
                   for n, (r, p) in enumerate(pairs, 1))
    alerts = _alerts(text, _frames(rnd, 300))
    regex = {(sid, port) for sid, port in alerts if sid < 1000}
    assert regex == {(sid - 1000, port) for sid, port in alerts if sid > 1000}
    assert len(regex) > 1000


@pytest.mark.skipif(shutil.which("suricata") is None, reason="suricata is not installed")
def test_translated_regex_rules_alert_in_suricata_as_in_dpictl(shared_dir, tmp_path) -> None:
    """The oracle runs `dpictl rules translate`'s pcre; dpictl runs the regex itself."""
    rnd = random.Random(9)
    text = "".join(f'{SNORT3} (msg:"r"; {r} sid:{n};)\n'
                   for n, (r, _) in enumerate(_twins(rnd, 120), 1))
    frames = _frames(rnd, 300)
    translated = "".join(translate_rule(r) + "\n" for r in parse_rules_text(text).rules)
    assert "regex" not in translated
    rules, pcap = tmp_path / "regex.rules", tmp_path / "regex.pcap"
    rules.write_text(translated)
    wrpcap(str(pcap), [Ether(f) for f in frames])
    config = (shared_dir / "oracle" / "suricata.yaml").read_text().replace(
        "default-log-dir: .", "default-log-dir: .\npacket-alert-max: 255")
    (tmp_path / "suricata.yaml").write_text(config)
    subprocess.run(["suricata", "-c", str(tmp_path / "suricata.yaml"), "-S", str(rules),
                    "-r", str(pcap), "-l", str(tmp_path), "-k", "none", "--runmode", "single"],
                   capture_output=True, timeout=300, check=False)
    theirs = {(e["alert"]["signature_id"], e["src_port"])
              for e in map(json.loads, (tmp_path / "eve.json").read_text().splitlines())
              if e.get("event_type") == "alert"}
    ours = _alerts(text, frames)
    assert len(theirs) > 1000
    assert ours == theirs, (sorted(theirs - ours)[:10], sorted(ours - theirs)[:10])
