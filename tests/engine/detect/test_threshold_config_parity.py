"""threshold.config applied by the engine, against Suricata 7.0.10 on cs-icmp_traceroute.pcapng.

Expected counts come from (one run per config, rules: the five community rules that fire on
this pcap, taken from snort2-community-all-enabled.rules; `own` adds
`threshold:type limit, track by_src, count 3, seconds 60;` to sid 384):

    suricata -c shared/oracle/suricata.yaml -S RULES -r shared/pcaps/cs-icmp_traceroute.pcapng \\
        -l OUT -k none --runmode single --set threshold-file=CONFIG

counting eve.json alerts by (sid, src, dst) or (sid, alert.action: allowed -> alert,
blocked -> drop). Without a threshold file the counts equal shared/oracle/expected.
"""

from __future__ import annotations

import collections
import re
from pathlib import Path

import pytest

from dpictl.capture import open_pcap
from dpictl.engine import Engine
from dpictl.rules import parse_rules_text
from dpictl.rules.threshold_config import parse_threshold_config

SIDS = (384, 385, 408, 449, 29456)
OWN = "threshold:type limit, track by_src, count 3, seconds 60; "
H, DNS = "192.168.100.138", "4.2.2.1"

SPECIFIC = """\
suppress gen_id 1, sig_id 449, track by_src, ip [12.0.0.0/8,4.68.101.162]
threshold gen_id 1, sig_id 384, type limit, track by_src, count 2, seconds 60
threshold gen_id 1, sig_id 29456, type threshold, track by_dst, count 5, seconds 3600
event_filter gen_id 1, sig_id 385, type both, track by_src, count 2, seconds 3600
suppress gen_id 1, sig_id 408
"""
GLOBAL = """\
threshold gen_id 0, sig_id 0, type limit, track by_src, count 1, seconds 3600
suppress gen_id 1, sig_id 449, track by_dst, ip 192.168.100.138
"""
ONE_SID = "threshold gen_id 1, sig_id 384, type limit, track by_src, count 2, seconds 60\n"
RATE = """\
rate_filter gen_id 1, sig_id 29456, track by_src, count 5, seconds 3600, new_action pass, \\
    timeout 3600
rate_filter gen_id 1, sig_id 384, track by_rule, count 4, seconds 3600, new_action drop, \\
    timeout 3600
"""


@pytest.fixture(scope="module")
def rules_text(shared_dir: Path) -> str:
    wanted = re.compile(r"sid:(%s);" % "|".join(map(str, SIDS)))
    lines = (shared_dir / "rules" / "snort2-community-all-enabled.rules").read_text().splitlines()
    return "\n".join(line for line in lines if wanted.search(line) and line.startswith("alert"))


def _run(shared_dir: Path, rules_text: str, config: str, key) -> dict:
    rules = parse_rules_text(rules_text).rules
    assert sorted(r.sid for r in rules) == sorted(SIDS)
    engine = Engine(rules, threshold_config=parse_threshold_config(config) if config else None)
    counts: collections.Counter = collections.Counter()
    for ts, frame, linktype, *_ in open_pcap(str(shared_dir / "pcaps" /
                                                 "cs-icmp_traceroute.pcapng")):
        counts.update(key(d) for d in engine.feed(ts, frame, linktype))
    counts.update(key(d) for d in engine.flush())
    return dict(counts)


def _by_hosts(d):
    return (d.rule.sid, d.src_ip, d.dst_ip)


def _by_action(d):
    return (d.rule.sid, d.rule.action)


def test_sid_specific_suppress_threshold_event_filter(shared_dir: Path, rules_text: str) -> None:
    assert _run(shared_dir, rules_text, SPECIFIC, _by_hosts) == {
        (384, H, DNS): 2, (385, H, DNS): 1, (29456, H, DNS): 5,
        (449, "192.168.100.1", H): 3, (449, "192.205.33.210", H): 3}


def test_global_threshold_and_suppress_by_dst(shared_dir: Path, rules_text: str) -> None:
    assert _run(shared_dir, rules_text, GLOBAL, _by_hosts) == {
        (384, H, DNS): 1, (385, H, DNS): 1, (408, DNS, H): 1, (29456, H, DNS): 1}


def test_a_rules_own_threshold_beats_a_global_one(shared_dir: Path, rules_text: str) -> None:
    own = rules_text.replace("sid:384;", OWN + "sid:384;")
    assert _run(shared_dir, own, GLOBAL, _by_action) == {
        (384, "alert"): 3, (385, "alert"): 1, (408, "alert"): 1, (29456, "alert"): 1}


def test_a_sid_specific_entry_beats_the_rules_own(shared_dir: Path, rules_text: str) -> None:
    own = rules_text.replace("sid:384;", OWN + "sid:384;")
    assert _run(shared_dir, own, ONE_SID, _by_action) == {
        (384, "alert"): 2, (385, "alert"): 3, (408, "alert"): 3, (449, "alert"): 24,
        (29456, "alert"): 27}


def test_rate_filter_changes_the_action_after_count(shared_dir: Path, rules_text: str) -> None:
    assert _run(shared_dir, rules_text, RATE, _by_action) == {
        (384, "alert"): 4, (384, "drop"): 23, (385, "alert"): 3, (408, "alert"): 3,
        (449, "alert"): 24, (29456, "alert"): 5}


def test_forked_engines_keep_their_own_threshold_state(shared_dir: Path,
                                                       rules_text: str) -> None:
    rules = parse_rules_text(rules_text).rules
    engine = Engine(rules, threshold_config=parse_threshold_config(ONE_SID))
    counts = []
    for e in (engine, engine.fork()):
        n = 0
        for ts, frame, linktype, *_ in open_pcap(str(shared_dir / "pcaps" /
                                                     "cs-icmp_traceroute.pcapng")):
            n += sum(d.rule.sid == 384 for d in e.feed(ts, frame, linktype))
        counts.append(n)
    assert counts == [2, 2]


def test_rate_filter_apply_to_limits_it_to_the_listed_sources(shared_dir: Path,
                                                              rules_text: str) -> None:
    """Snort's `apply_to` (not in Suricata): only the listed tracked addresses are filtered."""
    listed = RATE.replace("new_action drop, \\\n    timeout 3600",
                          "new_action drop, timeout 3600, apply_to 10.0.0.0/8")
    listed = listed.replace("track by_rule", "track by_src")
    counts = _run(shared_dir, rules_text, listed, _by_action)
    assert counts[(384, "alert")] == 27 and (384, "drop") not in counts   # H is not in 10/8
    hit = listed.replace("apply_to 10.0.0.0/8", "apply_to 192.168.100.0/24")
    counts = _run(shared_dir, rules_text, hit, _by_action)
    assert counts[(384, "alert")] == 4 and counts[(384, "drop")] == 23
