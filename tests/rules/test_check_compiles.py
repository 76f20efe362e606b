"""`rules check` reports what `inspect` would run (issue 8.10): rules the engine's compile step
drops count as failed, with their line and the engine's reason, in the same JSON shape."""

from __future__ import annotations

import json
from pathlib import Path

import pytest

from dpictl.cli.rules import compiled
from dpictl.engine.detect import compile_rules
from dpictl.rules import load_rules
from tests.cli.in_process import run

RULES = """\
alert tcp any any -> any 80 (msg:"ok"; content:"abc"; sid:1;)
alert tcp any any -> any 80 (msg:"bad pcre"; pcre:"/(unclosed/"; sid:2;)
alert foo any any -> any 80 (msg:"foo proto"; sid:3;)
alert tcp any any -> any 80 (msg:"bad syntax"; frob; sid:4;)
"""


def test_check_reports_what_the_engine_drops(tmp_path: Path,
                                             capsys: pytest.CaptureFixture) -> None:
    path = tmp_path / "t.rules"
    path.write_text(RULES)
    code, out, err = run(capsys, "rules", "check", str(path), "-o", "json")
    doc = json.loads(out)
    assert code == 3 and err.strip() == "dpictl: error: 3 of 4 rules failed to load"
    assert list(doc) == ["total", "loaded", "failed", "errors"]
    assert (doc["total"], doc["loaded"], doc["failed"]) == (4, 1, 3)
    assert [(e["line"], e["sid"]) for e in doc["errors"]] == [(2, 2), (3, 3), (4, 4)]
    reasons = [e["reason"] for e in doc["errors"]]
    assert reasons[0].startswith("pcre does not compile: ") and "parenthesis" in reasons[0]
    assert reasons[1] == "protocol 'foo': dpictl has no parser for it"
    assert reasons[2] == "frob: unknown rule option 'frob'"
    assert all(e["file"] == str(path) for e in doc["errors"])


def test_the_table_counts_per_file_after_compiling(tmp_path: Path,
                                                   capsys: pytest.CaptureFixture) -> None:
    path = tmp_path / "t.rules"
    path.write_text(RULES)
    _, out, _ = run(capsys, "rules", "check", str(path))
    assert "1 of 4 rules loaded, 3 failed" in out
    assert "protocol 'foo'" in out


def test_check_loaded_equals_what_the_engine_runs_on_the_community_rules(
        shared_dir: Path) -> None:
    ruleset = load_rules([shared_dir / "rules" / "snort3-community.rules"], {})
    checked = compiled(ruleset)
    engine = compile_rules(ruleset.rules)
    assert checked.loaded == engine.loaded
    assert checked.failed == len(ruleset.errors) + engine.dropped
    assert checked.total == checked.loaded + checked.failed
    assert sum(f.loaded for f in checked.files) == checked.loaded
