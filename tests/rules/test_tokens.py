"""Lexing: logical lines, option splitting, quoting and escapes."""

from __future__ import annotations

import pytest

from dpictl.errors import RuleSyntaxError
from dpictl.rules.tokens import logical_lines, split_args, split_options, split_rule, unquote


def test_comments_blank_lines_and_commented_out_rules_are_skipped() -> None:
    text = ("# header comment\n\n"
            '# alert tcp any any -> any any (msg:"disabled"; sid:1;)\n'
            'alert tcp any any -> any any (msg:"on"; sid:2;)\n'
            "   \n")
    lines = list(logical_lines(text))
    assert [(ll.line, ll.text) for ll in lines] == [
        (4, 'alert tcp any any -> any any (msg:"on"; sid:2;)')]


def test_backslash_continuation_joins_lines_and_keeps_first_line_number() -> None:
    text = ('\nalert tcp any any -> any 80 ( msg:"a"; \\\n'
            '    content:"x"; \\\n'
            '    sid:3; )\n'
            'alert udp any any -> any 53 (sid:4;)\n')
    lines = list(logical_lines(text))
    assert lines[0].line == 2
    assert lines[0].text == 'alert tcp any any -> any 80 ( msg:"a"; content:"x"; sid:3; )'
    assert lines[1].line == 5


def test_unclosed_option_list_continues_but_never_swallows_the_next_rule() -> None:
    text = ('alert tcp any any -> any 80 ( msg:"a";\n'
            '  content:"x";\n'
            '  sid:3; )\n'
            'alert tcp any any -> any 80 ( msg:"broken";\n'
            'alert tcp any any -> any 80 ( msg:"next"; sid:9; )\n')
    lines = list(logical_lines(text))
    assert [ll.line for ll in lines] == [1, 4, 5]
    assert lines[0].text.endswith("sid:3; )")
    assert "next" not in lines[1].text


@pytest.mark.parametrize("body, expected", [
    ('msg:"a;b"; sid:1;', [("msg", '"a;b"'), ("sid", "1")]),
    ('msg:"say \\"hi\\"; ok"; nocase;', [("msg", '"say \\"hi\\"; ok"'), ("nocase", None)]),
    ('content:"a\\;b"; sid:1', [("content", '"a\\;b"'), ("sid", "1")]),   # no final ;
    ('  NOCASE ;  Depth : 4 ;', [("nocase", None), ("depth", "4")]),
    ('pcre:"/a\\\\/"; sid:2;', [("pcre", '"/a\\\\/"'), ("sid", "2")]),
])
def test_split_options(body: str, expected: list[tuple[str, str | None]]) -> None:
    assert split_options(body) == expected


@pytest.mark.parametrize("body, message", [
    ('msg:"unterminated; sid:1;', "unterminated"),
    ('content "x"; sid:1;', "bad option"),
])
def test_split_options_errors(body: str, message: str) -> None:
    with pytest.raises(RuleSyntaxError, match=message):
        split_options(body)


def test_split_rule_requires_closing_paren_at_end() -> None:
    assert split_rule('alert http (sid:1;)') == ("alert http", "sid:1;")
    with pytest.raises(RuleSyntaxError, match="not closed"):
        split_rule('alert tcp any any -> any any (sid:1;')
    with pytest.raises(RuleSyntaxError, match="needs '\\('"):
        split_rule('alert tcp any any -> any any')


def test_split_args_respects_quotes_and_unquote_unescapes() -> None:
    assert split_args('"a,b", nocase ,x') == ['"a,b"', "nocase", "x"]
    assert unquote('"a\\"b\\;c\\\\"', "msg") == 'a"b;c\\'
    with pytest.raises(RuleSyntaxError):
        unquote("bare", "msg")


def test_include_disabled_yields_commented_out_rules_only() -> None:
    text = ("# alert tcp any any -> any 80 (msg:\"off\"; sid:1;)\n"
            "## alert http (msg:\"off too\"; sid:2;)\n"
            "# alert tcp traffic is described below\n"
            "# just a comment (with parens)\n"
            "alert tcp any any -> any 80 (msg:\"on\"; sid:3;)\n")
    assert [ll.line for ll in logical_lines(text)] == [5]
    lines = list(logical_lines(text, include_disabled=True))
    assert [ll.line for ll in lines] == [1, 2, 5]
    assert lines[0].text.startswith("alert tcp any any")
