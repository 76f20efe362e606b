"""`rules update` end to end over a loopback HTTP source: conditional requests, checksums, the
report, and the promise that a failed update leaves the ruleset in use untouched."""

from __future__ import annotations

import json
from pathlib import Path

import pytest

from dpictl.errors import InputError, RulesUpdateError
from dpictl.rulesets import RulesDir
from dpictl.rulesets.edit import edit_policy
from dpictl.rulesets.managed import read_managed
from dpictl.rulesets.sources import add_source
from dpictl.rulesets.update import update

from .conftest import rule, targz, zipped
from .http_source import RuleServer, md5_of

GOOD = {"rules/web.rules": rule(1, content="one") + "\n" + rule(2, content="two") + "\n",
        "rules/dns.rules": rule(3, port=53, disabled=True) + "\n"}
# a bad address: the rule cannot parse, so the ruleset cannot load as written
BROKEN = "alert tcp 999.1.1.1 any -> any 80 (msg:\"broken\"; content:\"x\"; sid:9; rev:1;)\n"


def _enabled(rules: RulesDir) -> dict[int, bool]:
    return {e.sid: e.enabled for e in read_managed(rules.managed)}


def test_first_update_then_a_304(rules_dir: RulesDir, rule_server: RuleServer) -> None:
    url = rule_server.publish("et.tar.gz", targz(GOOD))
    add_source(rules_dir, "et", url)
    first = update(rules_dir)
    assert _enabled(rules_dir) == {1: True, 2: True, 3: False}
    assert sorted(first.changes.added) == [(1, 1), (1, 2), (1, 3)]
    assert (first.total, first.enabled, first.check.loaded) == (3, 2, 2)
    assert first.sources[0].files == 2 and not first.sources[0].not_modified
    second = update(rules_dir)
    assert second.sources[0].not_modified and not second.changes.any
    assert rule_server.statuses("et.tar.gz") == [200, 304]
    sent = rule_server.log[-1][2]
    assert sent.get("If-None-Match") and sent.get("If-Modified-Since")


def test_report_says_what_changed(rules_dir: RulesDir, rule_server: RuleServer) -> None:
    url = rule_server.publish("et.rules", "\n".join([rule(1), rule(2), rule(3, disabled=True),
                                                     rule(4)]))
    add_source(rules_dir, "et", url)
    update(rules_dir)
    rule_server.publish("et.rules", "\n".join([rule(1, rev=2, content="new"),
                                               rule(2, disabled=True), rule(3), rule(5)]))
    changes = update(rules_dir).changes
    assert changes.added == [(1, 5)] and changes.removed == [(1, 4)]
    assert changes.modified == [(1, 1)]
    assert changes.enabled == [(1, 3)] and changes.disabled == [(1, 2)]


def test_group_of_a_plain_rules_url_is_its_file_name(rules_dir: RulesDir,
                                                     rule_server: RuleServer) -> None:
    add_source(rules_dir, "et", rule_server.publish("x/emerging-scan.rules", rule(7)))
    update(rules_dir)
    assert [(e.source, e.group) for e in read_managed(rules_dir.managed)] == [
        ("et", "emerging-scan.rules")]


def test_zip_and_file_url_sources_merge_higher_rev_wins(rules_dir: RulesDir,
                                                        tmp_path: Path) -> None:
    archive = tmp_path / "b.zip"
    archive.write_bytes(zipped({"b.rules": rule(1, rev=5, content="newer") + "\n" + rule(8)}))
    plain = tmp_path / "a.rules"
    plain.write_text(rule(1, rev=3) + "\n")
    add_source(rules_dir, "a", str(plain))
    add_source(rules_dir, "b", f"file://{archive}")
    report = update(rules_dir)
    assert report.duplicates == 1
    entries = {e.sid: e for e in read_managed(rules_dir.managed)}
    assert entries[1].rev == 5 and entries[1].source == "b" and set(entries) == {1, 8}


def test_md5_published_beside_the_source_is_checked(rules_dir: RulesDir,
                                                    rule_server: RuleServer) -> None:
    data = targz(GOOD)
    url = rule_server.publish("et.tar.gz", data, md5=md5_of(data))
    add_source(rules_dir, "et", url)
    update(rules_dir)
    before = rules_dir.managed.read_bytes()
    changed = targz({"web.rules": rule(1)})
    rule_server.publish("et.tar.gz", changed, md5=md5_of(data))    # stale checksum
    with pytest.raises(RulesUpdateError, match="checksum mismatch"):
        update(rules_dir)
    assert rules_dir.managed.read_bytes() == before


@pytest.mark.parametrize("break_it, message", [
    (lambda s, d: s.files.clear(), "HTTP 404"),
    (lambda s, d: s.publish("et.tar.gz", d[: len(d) // 2]), "corrupt archive"),
    (lambda s, d: s.publish("et.tar.gz", targz({"web.rules": rule(1) + "\n" + BROKEN})),
     "1 enabled rule(s) do not load; first: rule 1:9 from et/web.rules"),
    (lambda s, d: s.publish("et.tar.gz", targz({"web.rules": rule(1) + "\nalert junk\n"})),
     "not a rule"),
    (lambda s, d: s.publish("et.tar.gz", targz({"README": "no rules"})), "no .rules files"),
    (lambda s, d: (s.server.shutdown(), s.server.server_close()), "cannot fetch"),
])
def test_a_failed_update_leaves_the_previous_ruleset(rules_dir: RulesDir, rule_server: RuleServer,
                                                      break_it, message: str) -> None:
    data = targz(GOOD)
    add_source(rules_dir, "et", rule_server.publish("et.tar.gz", data))
    update(rules_dir)
    before = rules_dir.managed.read_bytes()
    break_it(rule_server, data)
    with pytest.raises(RulesUpdateError) as err:
        update(rules_dir)
    assert message in str(err.value)
    assert "\n" not in str(err.value)
    assert rules_dir.managed.read_bytes() == before


def test_disabling_the_broken_rule_lets_the_update_through(rules_dir: RulesDir,
                                                            rule_server: RuleServer) -> None:
    add_source(rules_dir, "et", rule_server.publish("et.rules", rule(1) + "\n" + BROKEN))
    with pytest.raises(RulesUpdateError) as err:
        update(rules_dir)
    assert err.value.hint == "fix the source, or disable the rule: dpictl rules disable 1:9"
    assert not rules_dir.managed.exists()
    added, report = edit_policy(rules_dir, "disable", ["1:9"])
    assert added == ["1:9"] and report is not None
    assert _enabled(rules_dir) == {1: True, 9: False}


def test_policy_edits_rebuild_from_the_cache_without_the_network(
        rules_dir: RulesDir, rule_server: RuleServer) -> None:
    add_source(rules_dir, "et", rule_server.publish("et.tar.gz", targz(GOOD)))
    update(rules_dir)
    rule_server.files.clear()                           # the source is gone now
    _, report = edit_policy(rules_dir, "disable", ["re:content:\"two\""])
    assert report is not None and report.changes.disabled == [(1, 2)]
    _, report = edit_policy(rules_dir, "enable", ["3"])
    assert _enabled(rules_dir) == {1: True, 2: False, 3: True}
    assert rule_server.statuses("et.tar.gz") == [200]


def test_a_refused_policy_edit_is_rolled_back(rules_dir: RulesDir, tmp_path: Path) -> None:
    source = tmp_path / "s.rules"
    source.write_text(rule(1) + "\n# " + BROKEN)
    add_source(rules_dir, "s", str(source))
    update(rules_dir)
    with pytest.raises(RulesUpdateError):
        edit_policy(rules_dir, "enable", ["9"])          # enabling a rule that cannot load
    assert not rules_dir.policy("enable").exists()
    with pytest.raises(InputError, match="modify.conf:1: not a modify line"):
        edit_policy(rules_dir, "modify", ["1 only-two-tokens"])
    assert not rules_dir.policy("modify").exists()


def test_update_without_sources_says_how_to_add_one(rules_dir: RulesDir) -> None:
    with pytest.raises(RulesUpdateError) as err:
        update(rules_dir)
    assert "source add" in err.value.hint


SETTER = ('alert tcp any any -> any 80 (msg:"sets"; content:"MZ"; flowbits:set,file.exe; '
          'flowbits:noalert; sid:{sid}; rev:1;)')
TESTER = ('alert tcp any any -> any 80 (msg:"tests"; content:"evil"; '
          'flowbits:isset,file.exe|file.dll; sid:30; rev:1;)')


def test_setters_of_tested_flowbits_are_enabled_as_suricata_update_does(
        rules_dir: RulesDir, tmp_path: Path) -> None:
    source = tmp_path / "fb.rules"
    source.write_text("\n".join(["# " + SETTER.format(sid=10), SETTER.format(sid=11)
                                 .replace("file.exe", "file.dll"), "# " + TESTER,
                                 "# " + SETTER.format(sid=12).replace("file.exe", "other")]))
    add_source(rules_dir, "fb", str(source))
    report = update(rules_dir)
    assert report.flowbit_enabled == []                 # nothing enabled tests file.exe yet
    _, report = edit_policy(rules_dir, "enable", ["30"])
    assert report.flowbit_enabled == [(1, 10)]          # the setter the tester needs
    assert _enabled(rules_dir) == {10: True, 11: True, 30: True, 12: False}
    _, report = edit_policy(rules_dir, "disable", ["10"])
    assert _enabled(rules_dir)[10] is True              # still required: enabled again


def test_rules_list_filters(rules_dir: RulesDir, tmp_path: Path,
                            capsys: pytest.CaptureFixture) -> None:
    from .conftest import run

    assert "no managed ruleset yet" in run(capsys, "rules", "list")[1]
    source = tmp_path / "s.rules"
    source.write_text("\n".join([rule(1, content="alpha"), rule(2, content="beta",
                                                                disabled=True)]))
    add_source(rules_dir, "s", str(source))
    update(rules_dir)
    code, out, _ = run(capsys, "rules", "list")
    assert code == 0 and "1:1" in out and "1:2" in out and "2 rule(s)" in out
    assert "1:2" not in run(capsys, "rules", "list", "--enabled")[1]
    code, out, _ = run(capsys, "rules", "list", "--grep", "BETA", "-o", "json")
    assert [(r["sid"], r["enabled"], r["group"]) for r in json.loads(out)] == [
        (2, False, "s.rules")]
    code, _, err = run(capsys, "rules", "list", "--enabled", "--disabled")
    assert code == 2 and "exclude each other" in err


def test_if_modified_since_alone_gets_a_304(rules_dir: RulesDir, rule_server: RuleServer) -> None:
    rule_server.etags = False
    add_source(rules_dir, "et", rule_server.publish("et.rules", rule(1)))
    update(rules_dir)
    assert update(rules_dir).sources[0].not_modified
    assert rule_server.statuses("et.rules") == [200, 304]
    assert "If-None-Match" not in rule_server.log[-1][2]
