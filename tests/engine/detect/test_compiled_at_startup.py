"""Everything is compiled when the Engine is built, nothing on a packet: a lazy compile
stalled the first packet of its kind for up to a second (issue 7). The compile entry points
are wrapped with counters after construction; feeding varied traffic must not call them.
"""

from __future__ import annotations

import pickle

import pytest

import dpictl.engine.detect.header as header_mod
import dpictl.engine.detect.prefilter as prefilter_mod
import dpictl.engine.detect.regex as regex_mod
import dpictl.engine.detect.ruleset as ruleset_mod
from dpictl.capture import open_pcap
from dpictl.engine import Engine, load_compiled
from dpictl.engine.detect.packet_checks import compile_flags, compile_fragbits, compile_numeric
from dpictl.engine.detect.regex import Regex
from dpictl.rules import ast, load_rules, parse_rules_text

from detect_factories import make_packet

# ICMP, TCP handshakes and scans, HTTP, SMTP with attachments, DNS, IPv6 fragments
PCAPS = ("cs-icmp_traceroute.pcapng", "cs-synscan.pcapng", "cs-aurora.pcapng",
         "cs-mail_sender_attachment.pcapng", "cs-dns_tcp.pcapng", "cs-ipv6_fragments.pcapng",
         "cs-http_post.pcapng", "lab-smk.pcap")


COMPILERS = ((prefilter_mod, "_hyperscan_db"), (prefilter_mod, "_aho_corasick"),
             (regex_mod.pcre2, "compile"), (ruleset_mod, "compile_rule"),
             (header_mod, "_port_matcher"), (header_mod, "_address_matcher"))


def count_compiles(monkeypatch: pytest.MonkeyPatch) -> list[str]:
    """Wraps every compile entry point; returns the list each call appends its name to."""
    calls: list[str] = []
    for module, name in COMPILERS:
        real = getattr(module, name)

        def counted(*args, _real=real, _name=f"{module.__name__}.{name}", **kwargs):
            calls.append(_name)
            return _real(*args, **kwargs)
        monkeypatch.setattr(module, name, counted)
    return calls


@pytest.mark.parametrize("cached", [False, True], ids=["compiled", "from-cache"])
def test_feeding_packets_compiles_nothing(shared_dir, tmp_path, monkeypatch, cached):
    rules = shared_dir / "rules" / "snort2-community-all-enabled.rules"
    if cached:
        load_compiled([rules], cache=tmp_path)
        loaded = load_compiled([rules], cache=tmp_path)
        assert loaded.from_cache
        engine = Engine(loaded.ruleset.rules, compiled=loaded.compiled)
    else:
        engine = Engine(load_rules([rules]).rules)
    calls = count_compiles(monkeypatch)
    alerts = 0
    for name in PCAPS:
        eng = engine.fork()
        with open_pcap(shared_dir / "pcaps" / name) as frames:
            for ts, frame, linktype, iface in frames:
                alerts += len(eng.feed(ts, frame, linktype, iface))
        alerts += len(eng.flush())
    assert calls == []
    assert alerts > 80 and engine.stats["rules_loaded"] > 3000


def test_the_counters_see_a_compile(monkeypatch):
    """The hook works: building an engine goes through every wrapped function."""
    calls = count_compiles(monkeypatch)
    Engine(parse_rules_text('alert tcp 10.0.0.0/8 any -> any 80 (content:"xyz"; pcre:"/a/"; '
                            'sid:1;)').rules)
    assert set(calls) >= {"dpictl.engine.detect.prefilter._hyperscan_db", "pcre2.compile",
                          "dpictl.engine.detect.ruleset.compile_rule",
                          "dpictl.engine.detect.header._port_matcher",
                          "dpictl.engine.detect.header._address_matcher"}


# -- what the cache pickles keeps its behaviour ------------------------------------------
CHECKS = [
    compile_numeric(ast.NumericTest("dsize", ">", 3)),
    compile_numeric(ast.NumericTest("dsize", "<>", 2, 6)),
    compile_numeric(ast.NumericTest("ttl", "<=", 64)),
    compile_numeric(ast.NumericTest("itype", "=", 8)),
    compile_numeric(ast.NumericTest("icmp_id", "!=", 0)),
    compile_numeric(ast.NumericTest("window", ">=", 1024)),
    compile_numeric(ast.NumericTest("ip_proto", "<=>", 6, 17)),
    compile_flags(ast.Flags("S", "", "12")),
    compile_flags(ast.Flags("SA", "+")),
    compile_flags(ast.Flags("FPU", "*")),
    compile_flags(ast.Flags("R", "!")),
    compile_fragbits(ast.Fragbits("D", "")),
    compile_fragbits(ast.Fragbits("M", "+")),
    compile_fragbits(ast.Fragbits("MD", "*")),
    compile_fragbits(ast.Fragbits("R", "!")),
]
PACKETS = [
    make_packet(b"abcd", ttl=64, tcp_flags=0x02, window=2048, ip_flags=0x2),
    make_packet(b"ab", ttl=128, tcp_flags=0x12, window=512, ip_flags=0x1),
    make_packet(b"", proto=1, icmp_type=8, icmp_id=7, ttl=1),
    make_packet(b"abcdefgh", proto=17, ttl=65, ip_flags=0x4),
    make_packet(b"x", tcp_flags=0xCA),
]


@pytest.mark.parametrize("check", CHECKS)
def test_packet_checks_survive_pickling(check):
    copy = pickle.loads(pickle.dumps(check))
    verdicts = [check(p) for p in PACKETS]
    assert [copy(p) for p in PACKETS] == verdicts
    assert True in verdicts and False in verdicts   # each check tells packets apart


def test_regex_survives_pickling_with_its_flags():
    rx = Regex("^get\\s+/(a+)+$", "ism")
    copy = pickle.loads(pickle.dumps(rx))
    for buf in (b"xx\nGET /aaa\n", b"GET /b", b"get  /" + b"a" * 40 + b"!"):
        assert copy.search(buf) == rx.search(buf)
    assert copy.search(b"xx\nGET /aaa\n") == (3, 11)
