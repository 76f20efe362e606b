"""The issue's "done when": the community ruleset served as a .tar.gz over HTTP, `source add`,
`update`, then `inspect` without --rules fires SID 21562 on lab-smk.pcap; `disable 21562`
silences it and `enable 21562` brings it back - all through the CLI a user types."""

from __future__ import annotations

import json
from pathlib import Path

import pytest

from dpictl.rulesets import RulesDir

from .conftest import run, targz
from .http_source import RuleServer, md5_of


def _sids(capsys: pytest.CaptureFixture, pcap: Path) -> list[int]:
    code, out, err = run(capsys, "inspect", "--pcap", str(pcap), "--no-store", "-o", "json")
    assert code == 0, err
    return sorted(int(a["record"]["snort_signature_id"]) for a in json.loads(out))


@pytest.mark.slow
def test_source_add_update_inspect_disable_enable(rules_dir: RulesDir, rule_server: RuleServer,
                                                  shared_dir: Path,
                                                  capsys: pytest.CaptureFixture) -> None:
    text = (shared_dir / "rules" / "snort3-community.rules").read_text()
    data = targz({"community/snort3-community.rules": text})     # built here, never committed
    url = rule_server.publish("community.tar.gz", data, md5=md5_of(data))
    pcap = shared_dir / "pcaps" / "lab-smk.pcap"
    assert 21562 not in _sids(capsys, pcap)                     # built-in rules only

    assert run(capsys, "rules", "source", "add", "community", url)[0] == 0
    code, out, err = run(capsys, "rules", "update")
    assert code == 0, err
    assert "community: fetched" in out and "4,017 rules" in out
    assert 21562 in _sids(capsys, pcap)

    code, out, _ = run(capsys, "rules", "disable", "21562")
    assert code == 0 and "disabled: 1:21562" in out
    code, out, _ = run(capsys, "rules", "update")
    assert code == 0 and "community: not modified" in out
    assert 21562 not in _sids(capsys, pcap)
    code, out, _ = run(capsys, "rules", "list", "--disabled", "-o", "json")
    assert [r["sid"] for r in json.loads(out)] == [21562]

    code, out, _ = run(capsys, "rules", "enable", "21562")
    assert code == 0 and "enabled: 1:21562" in out
    assert 21562 in _sids(capsys, pcap)
    assert rule_server.statuses("community.tar.gz") == [200, 304]


def test_update_errors_are_one_line_and_exit_non_zero(rules_dir: RulesDir,
                                                      rule_server: RuleServer,
                                                      capsys: pytest.CaptureFixture) -> None:
    url = rule_server.publish("bad.tar.gz", b"\x1f\x8b\x08\x00 not really gzip")
    run(capsys, "rules", "source", "add", "bad", url)
    code, out, err = run(capsys, "rules", "update")
    assert code == 1 and out == ""
    assert err.startswith("dpictl: error: source bad: corrupt archive") and err.count("\n") == 1


def test_policy_commands_refuse_bad_matchers(rules_dir: RulesDir,
                                             capsys: pytest.CaptureFixture) -> None:
    code, _, err = run(capsys, "rules", "disable", "sid:1")
    assert code == 3 and "not a matcher: 'sid:1'" in err
    code, out, _ = run(capsys, "rules", "disable", "1:2")
    assert code == 0 and "applies at `dpictl rules update`" in out
    code, out, _ = run(capsys, "rules", "modify", "1:2", 'content:"a"', 'content:"b"')
    assert code == 0
    assert rules_dir.policy("modify").read_text() == '1:2 "content:\\"a\\"" "content:\\"b\\""\n'
