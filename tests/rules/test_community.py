"""The Snort community rules (read from ../shared/rules, never copied): load rates, and the
Snort 2.9 and Snort 3 files parsing to the same detection for the same sid."""

from __future__ import annotations

from collections import Counter
from pathlib import Path
from typing import Any

import pytest

from dpictl.rules import RuleSet, load_rules
from dpictl.rules.ast import (Base64Decode, ByteExtract, ByteJump, ByteMath, ByteTest, Content,
                              IsDataAt, NumericTest, Pcre, Rule, Unsupported)

FILES = {"snort2": "snort2-community-all-enabled.rules", "snort3": "snort3-community.rules"}


@pytest.fixture(scope="module")
def community(shared_dir: Path) -> dict[str, RuleSet]:
    return {name: load_rules([shared_dir / "rules" / file]) for name, file in FILES.items()}


@pytest.mark.parametrize("name, expected_total", [("snort2", 4013), ("snort3", 4017)])
def test_community_files_load(community: dict[str, RuleSet], name: str,
                              expected_total: int) -> None:
    rs = community[name]
    assert rs.total == expected_total
    assert rs.loaded + rs.failed == rs.total
    assert rs.loaded / rs.total >= 0.99, [str(e) for e in rs.errors[:10]]
    for error in rs.errors:
        assert error.line > 0 and error.reason
    assert {r.syntax for r in rs.rules} == {name}


def test_shipped_snort2_file_counts_only_enabled_rules(shared_dir: Path) -> None:
    rs = load_rules([shared_dir / "rules" / "snort2-community.rules"])
    assert rs.total == 561 and rs.failed == 0
    assert rs.by_sid(21562) is None      # shipped commented out


def test_unsupported_keywords_are_kept_not_dropped(community: dict[str, RuleSet]) -> None:
    used = Counter(o.keyword for r in community["snort2"].rules for o in r.options
                   if isinstance(o, Unsupported))
    assert used["dce_iface"] == 15 and used["ssl_state"] == 7 and used["sip_method"] == 3


def _signature(rule: Rule) -> list[tuple[Any, ...]]:
    """What a rule inspects, written so that both syntaxes' spellings compare equal
    (snort2lua adds nocase to fast_pattern contents, and turns urilen into bufferlen)."""
    out: list[tuple[Any, ...]] = []
    for o in rule.options:
        if isinstance(o, Content):
            out.append(("content", o.pattern, o.negated, o.nocase or o.fast_pattern, o.buffer,
                        o.field, o.offset, o.depth, o.distance, o.within))
        elif isinstance(o, Pcre):
            out.append(("pcre", o.pattern, "".join(sorted(o.flags)), o.negated, o.relative,
                        o.buffer))
        elif isinstance(o, (ByteTest, ByteJump, ByteExtract, ByteMath, IsDataAt)):
            out.append((type(o).__name__, o.buffer, o.relative, o.offset))
        elif isinstance(o, NumericTest):
            keyword = "bufferlen" if o.keyword == "urilen" else o.keyword
            out.append(("num", keyword, o.op, o.value, o.high, o.buffer))
        elif isinstance(o, Base64Decode):
            out.append(("base64", o.buffer))
    return out


def test_both_syntaxes_parse_to_the_same_detection(community: dict[str, RuleSet]) -> None:
    old = {r.sid: r for r in community["snort2"].rules}
    new = {r.sid: r for r in community["snort3"].rules}
    common = old.keys() & new.keys()
    assert len(common) > 4000
    differ = sorted(sid for sid in common if _signature(old[sid]) != _signature(new[sid]))
    # the few left are real edits between the two releases (e.g. sid 1412 gained |04 06|,
    # sid 3087 replaced a pcre by bufferlen), not parser differences
    assert len(differ) <= 15, differ
    assert 21562 not in differ and 2663 not in differ


def test_shipped_snort2_file_with_disabled_rules_included(shared_dir: Path) -> None:
    rs = load_rules([shared_dir / "rules" / "snort2-community.rules"], include_disabled=True)
    assert (rs.total, rs.failed) == (4013, 0)
    assert rs.by_sid(21562) is not None


def test_option_splitting_agrees_with_idstools_on_every_snort2_rule(shared_dir: Path) -> None:
    """idstools (suricata-update's parser) reads Snort 2.9 rules; our lexer must split every
    community rule into the same keywords and values."""
    from idstools import rule as idstools_rule

    from dpictl.rules.tokens import logical_lines, split_options, split_rule

    text = (shared_dir / "rules" / FILES["snort2"]).read_text()
    checked = 0
    for logical in logical_lines(text):
        theirs = idstools_rule.parse(logical.text)
        assert theirs is not None, logical.line
        expected = [(o["name"], o["value"].strip() if o["value"] else None)
                    for o in theirs["options"]]
        assert split_options(split_rule(logical.text)[1]) == expected, logical.line
        checked += 1
    assert checked == 4013
