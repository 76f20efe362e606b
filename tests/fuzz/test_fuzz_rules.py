"""The rule parser and the engine's compile step on generated and mutated rules: parsing a
text never raises (every broken rule becomes a load error with its line), `parse_rule`
raises only RuleSyntaxError, and whatever parses also compiles without an exception (a rule
the engine cannot run is reported, not raised). Inputs are single lines of a few hundred
characters, so nothing can run long; pcre patterns are compiled, never matched here."""

from __future__ import annotations

from pathlib import Path

from hypothesis import example, given, settings
from hypothesis import strategies as st

from dpictl.engine.detect import compile_rules
from dpictl.errors import RuleSyntaxError
from dpictl.rules import parse_rules_text
from dpictl.rules.parse import parse_rule

from .budget import examples
from .mutate import mutated

COMMUNITY = Path(__file__).resolve().parents[2].parent / "shared" / "rules" / \
    "snort3-community.rules"
SEEDS = [line for line in COMMUNITY.read_text(errors="replace").splitlines()
         if line.startswith("alert") and len(line) < 600][:400]

WORD = st.text(alphabet='abcAZ019 _-.,:;|"\\/!$*()[]{}<>=^~\x00é', max_size=24)
NUMBER = st.one_of(st.integers(-5, 70000).map(str), st.sampled_from(["", "-", "1e9", "0x10",
                                                                      "99999999999999999999"]))
ADDRESS = st.sampled_from(["any", "$HOME_NET", "$EXTERNAL_NET", "10.0.0.0/8", "!1.2.3.4",
                           "[1.2.3.4,!5.6.7.0/24]", "[$HOME_NET,![10.0.0.1]]", "::1",
                           "fe80::/10", "300.1.1.1", "[", "$NOPE", "1.2.3.4/33"])
PORT = st.sampled_from(["any", "80", "!80", "[80,443]", "1:1024", ":1024", "1024:", "$HTTP_PORTS",
                        "[1:5,!3]", "70000", "a", "[", "0"])
KEYWORDS = ["msg", "content", "nocase", "offset", "depth", "distance", "within", "pcre", "flow",
            "sid", "rev", "gid", "classtype", "priority", "flowbits", "byte_test", "byte_jump",
            "byte_extract", "byte_math", "isdataat", "dsize", "http_uri", "http_header",
            "http.uri", "http_method", "http_client_body", "ttl", "itype", "icode", "flags",
            "fragbits", "metadata", "reference", "threshold", "detection_filter", "service",
            "fast_pattern", "rawbytes", "pkt_data", "file_data", "bufferlen", "ip_proto",
            "ack", "seq", "window", "urilen", "tag", "frobnicate"]
VALUE = st.one_of(NUMBER, WORD, WORD.map(lambda w: f'"{w}"'), WORD.map(lambda w: f'"|{w}|"'),
                  st.sampled_from(['"/a+b/i"', '"/(unclosed/"', '"/(a+)+$/"', '"/x/Q"',
                                   "established,to_server", "4,>,1,0,relative",
                                   "set,foo", "isset,foo", "1,0,little", "SA+", "!1", "<5",
                                   "10<>20", "trojan-activity", "url,example.com", "'x'"]))
OPTION = st.tuples(st.sampled_from(KEYWORDS), st.one_of(st.none(), VALUE)).map(
    lambda kv: kv[0] if kv[1] is None else f"{kv[0]}:{kv[1]}")


@st.composite
def rule_lines(draw: st.DrawFn) -> str:
    action = draw(st.sampled_from(["alert", "log", "pass", "drop", "reject", "sdrop", "alert ",
                                   "foo"]))
    proto = draw(st.sampled_from(["tcp", "udp", "icmp", "ip", "http", "foo", ""]))
    arrow = draw(st.sampled_from(["->", "<>", "<-", ">"]))
    options = draw(st.lists(OPTION, max_size=10))
    sid = draw(st.sampled_from(["sid:1;", "sid:2; rev:3;", "", "sid:0;", "sid:-1;"]))
    body = "; ".join(options) + ("; " if options else "") + sid
    return (f"{action} {proto} {draw(ADDRESS)} {draw(PORT)} {arrow} {draw(ADDRESS)} "
            f"{draw(PORT)} ({body})")


def _check(text: str) -> None:
    ruleset = parse_rules_text(text, "fuzz.rules", {"HOME_NET": "10.0.0.0/8"})
    compile_rules(ruleset.rules)
    for line in text.splitlines():
        try:
            parse_rule(line)
        except RuleSyntaxError:
            pass


@settings(max_examples=examples(400))
@given(rule_lines())
@example("alert tcp any any -> any any (ip_proto:\x00; sid:1;)")    # was a ValueError
def test_generated_rules(text: str) -> None:
    _check(text)


@settings(max_examples=examples(300))
@given(st.sampled_from(range(len(SEEDS))).flatmap(
    lambda i: mutated(SEEDS[i].encode(), max_ops=6)))
def test_mutated_community_rules(data: bytes) -> None:
    _check(data.decode("utf-8", "replace"))
