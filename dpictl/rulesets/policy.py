"""The policy files and what they do to a merged ruleset, in suricata-update's order:
disable.conf, then enable.conf, then modify.conf, then drop.conf.

Each file holds one matcher per line (`#` comments); modify.conf lines are
`MATCHER "FROM-REGEX" "TO"`. A bad line is an error that names the file and line, never a
line silently skipped. `dpictl rules enable|disable|modify` only edit these files.
"""

from __future__ import annotations

import re
import shlex
from dataclasses import dataclass, field
from pathlib import Path

from dpictl.errors import InputError
from dpictl.rulesets.entries import RuleEntry
from dpictl.rulesets.layout import RulesDir, write_atomically
from dpictl.rulesets.matchers import Matcher, fold, parse_matcher

_MODIFY_HINT = 'MATCHER "FROM-REGEX" "TO"'
_GROUP_REF = re.compile(r"\$\{(\d+)\}")
_OPPOSITE = {"enable": "disable", "disable": "enable"}


@dataclass(frozen=True, slots=True)
class Modify:
    matcher: Matcher
    pattern: re.Pattern
    replacement: str

    def run(self, rule: RuleEntry) -> RuleEntry:
        text = self.pattern.sub(self.replacement, rule.text)
        return rule if text == rule.text else rule.but(text=text)


@dataclass(slots=True)
class Policy:
    disable: list[Matcher] = field(default_factory=list)
    enable: list[Matcher] = field(default_factory=list)
    modify: list[Modify] = field(default_factory=list)
    drop: list[Matcher] = field(default_factory=list)

    def apply(self, rule: RuleEntry) -> RuleEntry:
        if rule.enabled and any(m.match(rule) for m in self.disable):
            rule = rule.but(enabled=False)
        if not rule.enabled and any(m.match(rule) for m in self.enable):
            rule = rule.but(enabled=True)
        for mod in self.modify:
            if mod.matcher.match(rule):
                rule = mod.run(rule)
        if rule.action == "alert" and any(m.match(rule) for m in self.drop):
            rule = rule.but(text="drop" + rule.text[len("alert"):])
        return rule


def load_policy(rules: RulesDir) -> Policy:
    policy = Policy()
    for kind in ("disable", "enable", "drop"):
        matchers = [_at(path, n, lambda t: parse_matcher(t), line)
                    for path, n, line in _lines(rules.policy(kind))]
        setattr(policy, kind, fold(matchers))
    policy.modify = [_at(path, n, parse_modify, line)
                     for path, n, line in _lines(rules.policy("modify"))]
    return policy


def parse_modify(text: str) -> Modify:
    """`MATCHER "FROM" "TO"`, split as suricata-update splits it (shell-like quoting)."""
    try:
        tokens = shlex.split(text)
    except ValueError as exc:
        raise InputError(f"not a modify line: {text!r} ({exc})", hint=_MODIFY_HINT) from None
    if len(tokens) < 3:
        raise InputError(f"not a modify line: {text!r}", hint=_MODIFY_HINT)
    try:
        pattern = re.compile(tokens[-2])
    except re.error as exc:
        raise InputError(f"bad regex {tokens[-2]!r}: {exc}") from None
    return Modify(parse_matcher(" ".join(tokens[:-2])), pattern,
                  _GROUP_REF.sub(r"\\g<\1>", tokens[-1]))


def quote(text: str) -> str:
    """`text` in double quotes such that parse_modify reads it back unchanged."""
    return '"' + text.replace("\\", "\\\\").replace('"', '\\"') + '"'


def add_lines(rules: RulesDir, kind: str, lines: list[str]) -> list[str]:
    """Append lines to `kind`.conf (those not already there); for enable/disable, take the
    same lines out of the opposite file, so the last command given wins. Returns the added."""
    path = rules.policy(kind)
    present = {line.strip() for _, _, line in _lines(path)}
    added = [line for line in dict.fromkeys(lines) if line not in present]
    if added:
        old = path.read_text() if path.exists() else ""
        if old and not old.endswith("\n"):
            old += "\n"
        write_atomically(path, (old + "".join(f"{line}\n" for line in added)).encode())
    if kind in _OPPOSITE:
        _remove_lines(rules.policy(_OPPOSITE[kind]), set(lines))
    return added


def _remove_lines(path: Path, lines: set[str]) -> None:
    if not path.exists():
        return
    old = path.read_text().splitlines(keepends=True)
    kept = [line for line in old if line.strip() not in lines]
    if len(kept) != len(old):
        write_atomically(path, "".join(kept).encode())


def _lines(path: Path) -> list[tuple[Path, int, str]]:
    if not path.exists():
        return []
    try:
        text = path.read_text()
    except OSError as exc:
        raise InputError(f"cannot read {path}: {exc.strerror or exc}") from None
    return [(path, n, line.strip()) for n, line in enumerate(text.splitlines(), 1)
            if line.strip() and not line.lstrip().startswith("#")]


def _at(path: Path, n: int, parse, line: str):
    try:
        return parse(line)
    except InputError as err:
        raise InputError(f"{path}:{n}: {err.message}", hint=err.hint or None) from None


__all__ = ["Policy", "Modify", "load_policy", "parse_modify", "quote", "add_lines"]
