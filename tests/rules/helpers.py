"""Small helpers for the rule tests: parse a rule from its options, compare some fields."""

from __future__ import annotations

from typing import Any

from dpictl.rules.ast import Option, Rule
from dpictl.rules.parse import parse_rule

SNORT2_HEADER = "alert tcp any any -> any any"


def rule(body: str, header: str = SNORT2_HEADER) -> Rule:
    """Parse `header (body sid:1;)`, adding the sid when the body has none."""
    if "sid:" not in body:
        body = f"{body} sid:1;"
    return parse_rule(f"{header} ({body})")


def options(body: str, header: str = SNORT2_HEADER) -> list[Option]:
    return rule(body, header).options


def fields(obj: Any, **expected: Any) -> dict[str, Any]:
    """The named attributes of obj, to compare with `expected` in one assert."""
    return {name: getattr(obj, name) for name in expected}
