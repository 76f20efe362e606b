"""suricata-update's matcher language: which rules a policy line is about.

    2019401  1:2019401       by id (every id matcher of a file folds into one set)
    re:heartbleed            a case-insensitive regex over the rule's text
    group:emerging-*.rules   the rule file's name inside its source (shell wildcards)
    metadata:policy security-ips   a metadata entry, key then value
"""

from __future__ import annotations

import fnmatch
import re
from dataclasses import dataclass, field
from typing import Protocol

from dpictl.errors import InputError
from dpictl.rulesets.entries import RuleEntry

_ID = re.compile(r"(?:(\d+):)?(\d+)\Z")


class Matcher(Protocol):
    def match(self, rule: RuleEntry) -> bool: ...


@dataclass(slots=True)
class IdMatcher:
    ids: set[tuple[int, int]] = field(default_factory=set)

    def match(self, rule: RuleEntry) -> bool:
        return (rule.gid, rule.sid) in self.ids


@dataclass(frozen=True, slots=True)
class RegexMatcher:
    pattern: re.Pattern

    def match(self, rule: RuleEntry) -> bool:
        return self.pattern.search(rule.text) is not None


@dataclass(frozen=True, slots=True)
class GroupMatcher:
    pattern: str

    def match(self, rule: RuleEntry) -> bool:
        return fnmatch.fnmatch(rule.group, self.pattern) or \
            fnmatch.fnmatch(f"{rule.source}/{rule.group}", self.pattern)


@dataclass(frozen=True, slots=True)
class MetadataMatcher:
    key: str
    value: str

    def match(self, rule: RuleEntry) -> bool:
        for item in rule.metadata:
            key, _, value = item.partition(" ")
            if key.lower() == self.key and value.strip().lower() == self.value:
                return True
        return False


def parse_matcher(text: str) -> IdMatcher | RegexMatcher | GroupMatcher | MetadataMatcher:
    """One matcher from its text; InputError (saying which text) when it is none."""
    text = text.strip()
    m = _ID.match(text)
    if m:
        return IdMatcher({(int(m.group(1) or 1), int(m.group(2)))})
    kind, sep, arg = text.partition(":")
    arg = arg.strip()
    if sep and arg:
        if kind == "re":
            try:
                return RegexMatcher(re.compile(arg, re.I))
            except re.error as exc:
                raise InputError(f"bad regex in matcher {text!r}: {exc}") from None
        if kind == "group":
            return GroupMatcher(arg)
        if kind == "metadata":
            key, _, value = arg.partition(" ")
            if value.strip():
                return MetadataMatcher(key.lower(), value.strip().lower())
    raise InputError(f"not a matcher: {text!r}",
                     hint="use SID, GID:SID, re:REGEX, group:FILE or metadata:KEY VALUE")


def fold(matchers: list) -> list[Matcher]:
    """One IdMatcher for all the id lines (a set lookup instead of thousands of tests)."""
    ids = IdMatcher()
    rest: list[Matcher] = []
    for m in matchers:
        if isinstance(m, IdMatcher):
            ids.ids |= m.ids
        else:
            rest.append(m)
    return ([ids] if ids.ids else []) + rest


__all__ = ["Matcher", "IdMatcher", "RegexMatcher", "GroupMatcher", "MetadataMatcher",
           "parse_matcher", "fold"]
