"""Lexing of rule files: logical rule lines, the header/body split, and option splitting.

One lexer serves both syntaxes. idstools' rule parser was considered for Snort 2.9, but it
cannot read Snort 3 headers (`alert http (...)`) or comma sub-options, and two lexers would
split the same `;`/`"`/`\\` rules in two slightly different ways; the few regular
expressions below handle both at about 1 µs per option.
"""

from __future__ import annotations

import re
from collections.abc import Iterator
from dataclasses import dataclass

from dpictl.errors import RuleSyntaxError

# One option: a keyword, then optionally `:` and a value made of runs of plain characters,
# escaped characters or quoted strings (in which `;` does not end the option), then `;`.
# Possessive quantifiers: a missing `;` must fail in linear time, not backtrack.
_KEYWORD_OPTION = re.compile(
    r'\s*+([A-Za-z0-9_.-]++)\s*+(?::\s*((?:[^;"\\]++|\\.|"(?:[^"\\]|\\.)*+")*+))?;\s*', re.S)
_QUOTED_OR_PLAIN = re.compile(r'(?:[^,"\\]++|\\.|"(?:[^"\\]|\\.)*+")++', re.S)
_ACTION_START = re.compile(r"[a-z]+\s")
_DISABLED_RULE = re.compile(
    r"#+\s*(?=(?:alert|log|pass|drop|reject|sdrop|block)\s+[a-z0-9_-]+[\s(].*\)\s*\Z)", re.S)


@dataclass(slots=True)
class LogicalLine:
    """One rule's text, joined onto one line, with the number of its first physical line."""

    text: str
    line: int


def logical_lines(text: str, include_disabled: bool = False) -> Iterator[LogicalLine]:
    """Yield the active (non-blank, non-comment) logical lines of a rules file.

    `include_disabled` also yields commented-out rules (`# alert ...`), which is how the
    Snort 2.9 community file ships most of its rules.

    A line ending in `\\` continues on the next one. A rule whose `(` is not yet closed also
    continues (Snort 3 allows options on several lines), but only onto lines that do not
    themselves look like the start of a rule or a comment, so one broken rule cannot swallow
    the next ones.
    """
    lines = text.splitlines()
    i = 0
    n = len(lines)
    while i < n:
        start = i
        raw = lines[i]
        i += 1
        stripped = raw.strip()
        if not stripped:
            continue
        if stripped.startswith("#"):
            m = _DISABLED_RULE.match(stripped) if include_disabled else None
            if m is None:
                continue
            stripped = stripped[m.end():]
        parts = [stripped]
        while parts[-1].endswith("\\") and i < n:
            parts[-1] = parts[-1][:-1].rstrip()
            parts.append(lines[i].strip())
            i += 1
        if any("(" in p for p in parts):
            while not parts[-1].endswith(")") and i < n and _continues(lines[i]):
                parts.append(lines[i].strip().rstrip("\\ "))
                i += 1
        yield LogicalLine(" ".join(p for p in parts if p), start + 1)


def _continues(line: str) -> bool:
    s = line.strip()
    return bool(s) and not s.startswith("#") and not _ACTION_START.match(s)


def split_rule(text: str) -> tuple[str, str]:
    """`header (body)` -> (header, body). The body is everything between the first `(` and
    the last `)`."""
    open_at = text.find("(")
    if open_at < 0:
        raise RuleSyntaxError("no option list: a rule needs '(' ... ')'")
    close_at = text.rfind(")")
    if close_at < open_at or text[close_at + 1:].strip():
        raise RuleSyntaxError("the option list is not closed with ')' at the end of the rule")
    return text[:open_at].strip(), text[open_at + 1:close_at]


def split_options(body: str) -> list[tuple[str, str | None]]:
    """`msg:"a;b"; nocase; sid:1;` -> [("msg", '"a;b"'), ("nocase", None), ("sid", "1")].

    Keywords are lower-cased; values keep their text (quotes and escapes included) for the
    keyword parsers. The final `;` may be missing, as Snort allows.
    """
    out: list[tuple[str, str | None]] = []
    pos = 0
    end = len(body)
    match = _KEYWORD_OPTION.match       # anchored at pos: linear even on garbage
    while pos < end:
        m = match(body, pos)
        if m is None:
            break
        value = m.group(2)
        out.append((m.group(1).lower(), value.rstrip() if value is not None else None))
        pos = m.end()
    rest = body[pos:].strip()
    if rest:
        m = _KEYWORD_OPTION.fullmatch(rest + ";")
        if m is None:
            if _unbalanced_quote(rest):
                raise RuleSyntaxError(f"unterminated quoted string in {rest[:60]!r}")
            raise RuleSyntaxError(f"bad option {rest.split(';')[0].strip()[:60]!r}")
        value = m.group(2)
        out.append((m.group(1).lower(), value.rstrip() if value is not None else None))
    return out


def _unbalanced_quote(text: str) -> bool:
    return text.replace('\\"', "").count('"') % 2 == 1


def split_args(value: str) -> list[str]:
    """Split an option value on commas that are outside quotes; parts are stripped."""
    return [p.strip() for p in _QUOTED_OR_PLAIN.findall(value)]


def unquote(value: str, what: str) -> str:
    """`"text"` -> `text` with `\\"`, `\\;`, `\\\\` (and any `\\x`) unescaped."""
    v = value.strip()
    if len(v) < 2 or v[0] != '"' or v[-1] != '"':
        raise RuleSyntaxError(f"{what} must be a quoted string, got {value[:60]!r}")
    inner = v[1:-1]
    if "\\" not in inner:
        return inner
    return re.sub(r"\\(.)", r"\1", inner)


__all__ = ["LogicalLine", "logical_lines", "split_rule", "split_options", "split_args",
           "unquote"]
