"""A selector nested past the limit is a syntax error, not an internal RecursionError
(issue 8.8: 300 levels of parentheses used to exit 1 with a traceback-worthy error)."""

from __future__ import annotations

import pytest

from dpictl.errors import ExitCode, SelectorSyntaxError
from dpictl.resources.selector import parse_selector
from dpictl.resources.selector.parse import MAX_NESTING


def _nested(depth: int) -> str:
    return "(" * depth + "app == 'x'" + ")" * depth


def test_nesting_up_to_the_limit_parses_and_matches() -> None:
    selector = parse_selector(_nested(MAX_NESTING))
    assert selector.matches({"app": "x"}) and not selector.matches({"app": "y"})


@pytest.mark.parametrize("depth", [MAX_NESTING + 1, 300, 5000])
def test_nesting_past_the_limit_is_a_syntax_error(depth: int) -> None:
    with pytest.raises(SelectorSyntaxError, match=f"nested more than {MAX_NESTING} deep") as err:
        parse_selector(_nested(depth))
    assert err.value.exit_code == ExitCode.BAD_INPUT
    assert f"at column {MAX_NESTING + 1}:" in str(err.value)


def test_long_flat_selectors_are_not_limited() -> None:
    text = " && ".join(f"k{i} == 'v'" for i in range(3000))
    assert parse_selector(text).matches({f"k{i}": "v" for i in range(3000)})
    assert parse_selector("!" * 10001 + "has(a)").matches({})
