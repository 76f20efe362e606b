"""Hostile or broken rule text: always a per-rule error, never a traceback or a hang.

Each input here once took quadratic time or raised outside RuleSyntaxError.
"""

from __future__ import annotations

import random
from pathlib import Path

import pytest

from dpictl.errors import RuleSyntaxError
from dpictl.rules import parse_rules_text
from dpictl.rules.parse import parse_rule

HEADER = "alert tcp any any -> any any"


@pytest.mark.parametrize("text, reason", [
    (f"{HEADER} (" + "a" * 100_000 + ")", "unknown rule option"),
    (f'{HEADER} (msg:"' + '\\"' * 50_000 + ")", "unterminated"),
    ("alert tcp " + "[" * 3000 + "any" + "]" * 3000 + " any -> any any (sid:1;)",
     "nest too deeply"),
    (f'{HEADER} (msg:"x";\n' + 'content:"y";\n' * 20_000, "not closed"),
    (f"{HEADER} (byte_test:" + "," * 50_000 + "; sid:1;)", "at least 4"),
    ("ipvar A0 any\n" + "".join(f"ipvar A{i} [$A{i - 1},$A{i - 1}]\n" for i in range(1, 40))
     + "alert tcp $A39 any -> any any (sid:1;)", "nest too deeply"),
])
def test_pathological_rules_fail_cleanly(text: str, reason: str) -> None:
    rs = parse_rules_text(text)
    assert (rs.total, rs.loaded, rs.failed) == (1, 0, 1)
    assert reason in rs.errors[0].reason
    assert len(rs.errors[0].reason) < 300


def test_long_but_valid_rule_loads() -> None:
    rs = parse_rules_text(f"{HEADER} (" + 'content:"x";' * 5000 + "sid:1;)")
    assert rs.loaded == 1 and len(rs.rules[0].options) == 5000


def test_mutated_community_rules_raise_only_rule_syntax_errors(shared_dir: Path) -> None:
    lines = [line.strip() for name in ("snort2-community-all-enabled.rules",
                                       "snort3-community.rules")
             for line in (shared_dir / "rules" / name).read_text().splitlines()
             if line.startswith("alert")]
    rng = random.Random(7)
    alphabet = '";:,|\\()[]!<>=-0123456789abx $'
    for _ in range(3000):
        chars = list(rng.choice(lines))
        for _ in range(rng.randint(1, 4)):
            at = rng.randrange(len(chars))
            roll = rng.random()
            if roll < 0.4:
                del chars[at]
            elif roll < 0.8:
                chars.insert(at, rng.choice(alphabet))
            else:
                chars[at] = rng.choice(alphabet)
        try:
            parse_rule("".join(chars))
        except RuleSyntaxError:
            pass
