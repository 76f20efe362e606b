"""Tokenizer for Calico label selectors, following libcalico-go's `tokenizer.go`.

Its quirks are deliberate (they are what Calico accepts): only space and tab are whitespace,
string literals have no escapes, `has(`/`all(`/`global(` must touch their parenthesis, and
operator keywords (`in`, `not in`, `contains`, `starts with`, `ends with`) are only
recognised right after a label, so a label may itself be spelled like a keyword.
"""

from __future__ import annotations

import re
from dataclasses import dataclass
from enum import Enum

from dpictl.resources.selector.errors import selector_error

MAX_LABEL_LENGTH = 512
_LABEL_CHARS = "A-Za-z0-9_./-"
_LABEL = re.compile(f"[{_LABEL_CHARS}]+")
_HAS = re.compile(f"has\\([ \\t]*([{_LABEL_CHARS}]+)[ \\t]*\\)")
_ALL = re.compile(r"all\([ \t]*\)")
_GLOBAL = re.compile(r"global\([ \t]*\)")
_BOUNDARY = f"(?![{_LABEL_CHARS}])"


class Tok(Enum):
    LABEL = "label"
    STRING = "string"
    EQ = "=="
    NE = "!="
    CONTAINS = "contains"
    STARTS_WITH = "starts with"
    ENDS_WITH = "ends with"
    IN = "in"
    NOT_IN = "not in"
    HAS = "has"
    ALL = "all()"
    GLOBAL = "global()"
    NOT = "!"
    AND = "&&"
    OR = "||"
    LPAREN = "("
    RPAREN = ")"
    LBRACE = "{"
    RBRACE = "}"
    COMMA = ","
    EOF = "end of selector"


# Operator keywords allowed after a label, tried in this order.
_KEYWORDS: tuple[tuple[re.Pattern[str], Tok], ...] = (
    (re.compile(f"contains{_BOUNDARY}"), Tok.CONTAINS),
    (re.compile(f"starts[ \\t]*with{_BOUNDARY}"), Tok.STARTS_WITH),
    (re.compile(f"ends[ \\t]*with{_BOUNDARY}"), Tok.ENDS_WITH),
    (re.compile(f"not[ \\t]*in{_BOUNDARY}"), Tok.NOT_IN),
    (re.compile(f"in{_BOUNDARY}"), Tok.IN),
)

_PUNCT: dict[str, Tok] = {
    "(": Tok.LPAREN, ")": Tok.RPAREN, "{": Tok.LBRACE, "}": Tok.RBRACE, ",": Tok.COMMA,
}
_DOUBLE: dict[str, Tok] = {"==": Tok.EQ, "!=": Tok.NE, "&&": Tok.AND, "||": Tok.OR}


@dataclass(frozen=True, slots=True)
class Token:
    kind: Tok
    value: str
    pos: int


def tokenize(text: str) -> list[Token]:
    """Split a selector into tokens (ending with EOF); raises SelectorSyntaxError."""
    tokens: list[Token] = []
    pos, n = 0, len(text)
    while True:
        while pos < n and text[pos] in " \t":
            pos += 1
        if tokens and tokens[-1].kind is Tok.LABEL:
            pos = _operator_after_label(text, pos, tokens)
            continue
        if pos >= n:
            tokens.append(Token(Tok.EOF, "", pos))
            return tokens
        pos = _next_token(text, pos, tokens)


def _operator_after_label(text: str, pos: int, tokens: list[Token]) -> int:
    """After a label only `==`, `!=` or an operator keyword may follow."""
    rest = text[pos:pos + 2]
    if rest in ("==", "!="):
        tokens.append(Token(_DOUBLE[rest], rest, pos))
        return pos + 2
    for pattern, kind in _KEYWORDS:
        m = pattern.match(text, pos)
        if m:
            tokens.append(Token(kind, m.group(0), pos))
            return m.end()
    raise selector_error(text, pos, "expected operator after label")


def _next_token(text: str, pos: int, tokens: list[Token]) -> int:
    ch = text[pos]
    if ch in _PUNCT:
        tokens.append(Token(_PUNCT[ch], ch, pos))
        return pos + 1
    if ch in "\"'":
        end = text.find(ch, pos + 1)
        if end < 0:
            raise selector_error(text, pos, "unterminated string literal")
        tokens.append(Token(Tok.STRING, text[pos + 1:end], pos))
        return end + 1
    two = text[pos:pos + 2]
    if two in _DOUBLE:
        tokens.append(Token(_DOUBLE[two], two, pos))
        return pos + 2
    if ch == "!":
        tokens.append(Token(Tok.NOT, ch, pos))
        return pos + 1
    if ch in "=&|":
        raise selector_error(text, pos, f"unexpected {ch!r} (did you mean {ch * 2!r}?)")
    for pattern, kind in ((_HAS, Tok.HAS), (_ALL, Tok.ALL), (_GLOBAL, Tok.GLOBAL)):
        m = pattern.match(text, pos)
        if m:
            value = m.group(1) if kind is Tok.HAS else m.group(0)
            _check_label_length(text, pos, value)
            tokens.append(Token(kind, value, pos))
            return m.end()
    m = _LABEL.match(text, pos)
    if m:
        _check_label_length(text, pos, m.group(0))
        tokens.append(Token(Tok.LABEL, m.group(0), pos))
        return m.end()
    raise selector_error(text, pos, f"unexpected character {ch!r}")


def _check_label_length(text: str, pos: int, label: str) -> None:
    if len(label) > MAX_LABEL_LENGTH:
        raise selector_error(text, pos, f"label longer than {MAX_LABEL_LENGTH} characters")


__all__ = ["Tok", "Token", "tokenize", "MAX_LABEL_LENGTH"]
