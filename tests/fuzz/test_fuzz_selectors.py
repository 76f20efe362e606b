"""The Calico selector parser on token soup: only SelectorSyntaxError comes out; a selector
that parses evaluates to a bool on any labels, and its canonical text parses back to itself."""

from __future__ import annotations

from hypothesis import given, settings
from hypothesis import strategies as st

from dpictl.errors import SelectorSyntaxError
from dpictl.resources.selector import parse_selector

from .budget import examples

TOKENS = st.sampled_from([
    "app", "tier", "k8s.io/name", "a-b_c", "==", "!=", " in ", " not in ", " contains ",
    " starts with ", " ends with ", "has(", "has(app)", "all()", "global()", "(", ")", "{", "}",
    ",", "'x'", '"y"', "'", '"', "&&", "||", "!", " ", "\t", "'web'", "'a\\'b'", "é", "\x00",
])
LABELS = st.dictionaries(st.sampled_from(["app", "tier", "k8s.io/name", "a-b_c"]),
                         st.sampled_from(["x", "y", "web", "", "a'b"]), max_size=4)


@settings(max_examples=examples(600))
@given(st.lists(TOKENS, max_size=40).map("".join), LABELS)
def test_token_soup(text: str, labels: dict[str, str]) -> None:
    try:
        selector = parse_selector(text)
    except SelectorSyntaxError:
        return
    assert isinstance(selector.matches(labels), bool)
    assert str(parse_selector(str(selector))) == str(selector)


@settings(max_examples=examples(200))
@given(st.text(max_size=200))
def test_any_text(text: str) -> None:
    try:
        parse_selector(text)
    except SelectorSyntaxError:
        pass


@settings(max_examples=examples(30))
@given(st.integers(0, 3000), st.sampled_from(["(", "!(", "!"]))
def test_deep_nesting_is_an_error_not_a_crash(depth: int, opener: str) -> None:
    text = opener * depth + "has(a)" + ")" * (depth if "(" in opener else 0)
    try:
        parse_selector(text)
    except SelectorSyntaxError:
        pass
