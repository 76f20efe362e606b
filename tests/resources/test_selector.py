"""Calico selector grammar and semantics, table-driven from Calico's own parser tests.

The cases are read at test time from ../shared/reference/calico-selector-cases.json
(transcribed from libcalico-go's parser_test.go and tokenizer_test.go), plus the extra
cases listed in calico-dpi-and-peers.md section 2.5.
"""

from __future__ import annotations

import json
from pathlib import Path

import pytest

from dpictl.errors import ExitCode, SelectorSyntaxError
from dpictl.resources.selector import parse_selector

CASES_FILE = Path(__file__).resolve().parents[3] / "shared" / "reference" / \
    "calico-selector-cases.json"


def _cases() -> dict:
    if not CASES_FILE.is_file():
        pytest.fail(f"{CASES_FILE} is missing: the shared reference must sit beside the project")
    return json.loads(CASES_FILE.read_text())


CASES = _cases()


@pytest.mark.parametrize("case", CASES["match_cases"],
                         ids=lambda c: f"{c['selector']}|{sorted(c['labels'].items())}")
def test_match_cases_from_calico(case: dict) -> None:
    assert parse_selector(case["selector"]).matches(case["labels"]) is case["matches"]


@pytest.mark.parametrize("text", CASES["invalid_selectors"], ids=repr)
def test_invalid_selectors_from_calico_raise(text: str) -> None:
    with pytest.raises(SelectorSyntaxError) as info:
        parse_selector(text)
    assert info.value.exit_code == ExitCode.BAD_INPUT
    assert "\n" not in str(info.value)        # one-line message even for a newline in input


@pytest.mark.parametrize("text,canonical", CASES["canonical_forms"], ids=repr)
def test_canonical_forms_from_calico(text: str, canonical: str) -> None:
    assert str(parse_selector(text)) == canonical
    # The canonical form parses back to itself.
    assert str(parse_selector(canonical)) == canonical


@pytest.mark.parametrize("text", CASES["valid_selectors"], ids=repr)
def test_valid_selectors_from_calico_parse(text: str) -> None:
    parse_selector(text)


# Section 2.5 cases that the JSON table does not hold verbatim.
EXTRA_MATCHES = [
    ('a contains "a"', {"a": "bab"}, True),
    ('a contains "a"', {"a": "aaa", "b": "c"}, True),
    ('a contains "a"', {"b": "aaa"}, False),
    ('a starts with "a"', {"a": "abb"}, True),
    ('a starts with "a"', {"a": "baa"}, False),
    ('a ends with "a"', {"a": "bba"}, True),
    ('a ends with "a"', {"a": "aab"}, False),
    ('!a in {"a"}', {"a": "b"}, True),
    ('a not in {"d","e"}', {"a": "a"}, True),
    ('a not in {"a"}', {"a": "a"}, False),
    ("!has(a)", {"b": "b"}, True),
    ("!has(a)", {"a": "b"}, False),
    ("!!has(b)", {"a": "b"}, False),
    ("!!! has(a)", {"a": "b"}, False),
    ("! !!has(a)", {"a": "b"}, False),
    ("global()", {}, True),
    (" all()", {"a": "b"}, True),
    ("a != 'a1' && !b == 'b1'", {"a": "a1", "b": "b1"}, False),
    ("! a == 'a1' || ! b == 'b1'", {"a": "a1", "b": "b1"}, False),
    ("!(!has(a) || has(b))", {"a": "a"}, True),
    ("a != 'a1' || b != 'b1'", {"a": "a1", "b": "b1"}, False),
    ('has(a) && a == ""', {"a": ""}, True),
    ('a == "x" || b == "y" && c == "z"', {"a": "x"}, True),      # && binds tighter than ||
    ('(a == "x" || b == "y") && c == "z"', {"a": "x"}, False),
    ('k8s-app == "nginx"', {"k8s-app": "nginx"}, True),
    ('calico/k8s_NS-.1/role == "x"', {"calico/k8s_NS-.1/role": "x"}, True),
]


@pytest.mark.parametrize("text,labels,expected", EXTRA_MATCHES, ids=repr)
def test_section_2_5_matches(text: str, labels: dict, expected: bool) -> None:
    assert parse_selector(text).matches(labels) is expected


def test_docs_precedence_example_brackets_as_documented() -> None:
    sel = parse_selector("! has(my-label) || my-label starts with 'prod' && "
                         "role in {'frontend','business'}")
    assert str(sel) == ('(!has(my-label) || (my-label starts with "prod" && '
                        'role in {"business", "frontend"}))')


def test_quoting_picks_single_quotes_only_when_needed() -> None:
    assert str(parse_selector("a == 'x'")) == 'a == "x"'
    assert str(parse_selector("a == '\"'")) == "a == '\"'"


def test_label_length_limit_is_512() -> None:
    parse_selector("a" * 512 + ' == "x"')
    with pytest.raises(SelectorSyntaxError, match="512"):
        parse_selector("a" * 513 + ' == "x"')


def test_error_names_the_column() -> None:
    with pytest.raises(SelectorSyntaxError, match="column 10: unexpected character"):
        parse_selector('a == "b" % c')


def test_non_string_selector_is_an_error() -> None:
    with pytest.raises(SelectorSyntaxError):
        parse_selector(42)  # type: ignore[arg-type]


def test_equal_selectors_have_equal_uid() -> None:
    assert parse_selector('a=="b"').uid == parse_selector(' a == "b" ').uid
    assert parse_selector('a=="b"').uid != parse_selector('a=="c"').uid
