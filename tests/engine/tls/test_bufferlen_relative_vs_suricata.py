"""Differential check of `bufferlen:...,relative` against the oracle: Snort 3 probe rules
(every comparison, both ranges) run by dpictl as written and by Suricata 7 as the
translator writes them (`isdataat` bounds), on HTTP requests whose URI leaves 6..14 bytes
after the matched content. The same alerts, rule by rule and session by session. (The
HTTP sessions reuse the TLS tests' TCP session builder.) Skipped without `suricata`."""

from __future__ import annotations

import json
import shutil
import subprocess

import pytest
from tls_sessions import Session, write_pcap

from dpictl.engine import Engine
from dpictl.rules import parse_rules_text
from dpictl.suricata.translate import translate_rule

pytestmark = [
    pytest.mark.slow,
    pytest.mark.skipif(shutil.which("suricata") is None, reason="suricata is not installed"),
]

TESTS = (">=10", ">10", "<10", "<=10", "10", "8<=>12", "8<>12", ">=0", "<=0")
TAILS = range(6, 15)


def _rules() -> str:
    return "".join(
        f'alert tcp any any -> any any ( msg:"len {t}"; flow:to_server,established; '
        f'http_uri; content:"/probe?"; bufferlen:{t},relative; service:http; '
        f"sid:{9400000 + i}; rev:1; )\n" for i, t in enumerate(TESTS))


def test_bufferlen_relative_alerts_match_suricata(shared_dir, tmp_path):
    sessions = []
    for tail in TAILS:
        s = Session(sport=44000 + tail, dport=80)
        s.send(True, b"GET /x/probe?" + b"A" * tail + b" HTTP/1.1\r\nHost: h\r\n\r\n")
        s.send(False, b"HTTP/1.1 200 OK\r\nContent-Length: 0\r\n\r\n")
        sessions.append(s.frames())
    pcap, rules_file, out = tmp_path / "len.pcap", tmp_path / "len.rules", tmp_path / "out"
    frames = write_pcap(pcap, sessions)
    ruleset = parse_rules_text(_rules())
    assert not ruleset.errors
    rules_file.write_text("".join(translate_rule(r) + "\n" for r in ruleset.rules))
    out.mkdir()
    subprocess.run(["suricata", "-c", str(shared_dir / "oracle" / "suricata.yaml"),
                    "-S", str(rules_file), "-r", str(pcap), "-l", str(out), "-k", "none",
                    "--runmode", "single"], check=True, capture_output=True, timeout=120)
    theirs = set()
    for line in (out / "eve.json").read_text().splitlines():
        event = json.loads(line)
        if event.get("event_type") == "alert":
            theirs.add((event["alert"]["signature_id"], event["src_port"] - 44000))
    engine = Engine(ruleset.rules)
    assert engine.stats["rules_loaded"] == len(TESTS)
    dets = []
    for i, frame in enumerate(frames):
        dets += engine.feed(1700000000.0 + i * 0.001, frame, 1)
    dets += engine.flush()
    ours = {(d.rule.sid, d.src_port - 44000) for d in dets}
    # what Snort 3 means, tail by tail: the probes are not vacuous
    expected = {(9400000 + i, tail) for i, t in enumerate(TESTS) for tail in TAILS
                if _holds(t, tail)}
    assert ours == expected
    assert theirs == ours, (sorted(theirs - ours), sorted(ours - theirs))


def _holds(test: str, n: int) -> bool:
    if "<=>" in test:
        low, high = map(int, test.split("<=>"))
        return low <= n <= high
    if "<>" in test:
        low, high = map(int, test.split("<>"))
        return low < n < high
    for op, fn in ((">=", n.__ge__), ("<=", n.__le__), (">", n.__gt__), ("<", n.__lt__)):
        if test.startswith(op):
            return fn(int(test[len(op):]))
    return n == int(test)
