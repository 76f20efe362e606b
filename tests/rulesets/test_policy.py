"""Policy files: suricata-update's order (disable, enable, modify, drop), edits, bad lines."""

from __future__ import annotations

import pytest

from dpictl.errors import InputError
from dpictl.rulesets import RulesDir
from dpictl.rulesets.entries import entry_from_text
from dpictl.rulesets.policy import add_lines, load_policy

from .conftest import rule


def _entries():
    return [entry_from_text(rule(1, content="alpha"), True, "a.rules", "s"),
            entry_from_text(rule(2, content="beta"), True, "a.rules", "s"),
            entry_from_text(rule(3, content="gamma"), False, "b.rules", "s")]


def test_disable_then_enable_then_modify_then_drop(rules_dir: RulesDir) -> None:
    rules_dir.root.mkdir(parents=True)
    rules_dir.policy("disable").write_text("# comment\ngroup:a.rules\n")
    rules_dir.policy("enable").write_text("2\nre:gamma\n")
    rules_dir.policy("modify").write_text('2 "content:\\"(\\w+)\\"" "content:\\"${1}-x\\""\n')
    rules_dir.policy("drop").write_text("3\n")
    policy = load_policy(rules_dir)
    one, two, three = (policy.apply(e) for e in _entries())
    assert not one.enabled                      # disabled by group
    assert two.enabled and 'content:"beta-x"' in two.text   # enable wins, then modified
    assert three.enabled and three.action == "drop"         # enabled by re:, then dropped


def test_a_bad_policy_line_names_its_file_and_line(rules_dir: RulesDir) -> None:
    rules_dir.root.mkdir(parents=True)
    rules_dir.policy("disable").write_text("1\n\nnot-a-matcher\n")
    with pytest.raises(InputError) as err:
        load_policy(rules_dir)
    assert str(err.value).startswith(f"{rules_dir.policy('disable')}:3: not a matcher")


def test_bad_modify_line_is_an_error(rules_dir: RulesDir) -> None:
    rules_dir.root.mkdir(parents=True)
    rules_dir.policy("modify").write_text('1 "(unclosed" "x"\n')
    with pytest.raises(InputError, match="modify.conf:1: bad regex"):
        load_policy(rules_dir)


def test_enable_and_disable_edits_move_a_line_between_files(rules_dir: RulesDir) -> None:
    assert add_lines(rules_dir, "disable", ["21562", "re:x"]) == ["21562", "re:x"]
    assert add_lines(rules_dir, "disable", ["21562"]) == []            # already there
    assert add_lines(rules_dir, "enable", ["21562"]) == ["21562"]
    assert rules_dir.policy("disable").read_text() == "re:x\n"
    assert rules_dir.policy("enable").read_text() == "21562\n"
