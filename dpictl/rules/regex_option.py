"""Snort 3's `regex:"/re/flags"[,fast_pattern][,nocase]` -> a `Pcre` node.

Snort 3 runs `regex` through hyperscan (ips_regex.cc; docs.snort.org/rules/options/payload/
regex): only the flags i, s, m and R exist, it cannot be negated, and a pattern hyperscan
cannot compile (back-references, most look-arounds) makes Snort refuse the rule. What it
matches is what the same pattern matches as a pcre, so it becomes a `Pcre` node: the engine
evaluates it with PCRE2 and the Suricata writer spells it `pcre:`. One difference is not
kept: after a match Snort 3 puts the cursor at the end of the match hyperscan reports
first (the earliest end), PCRE at the end of the leftmost match; dpictl follows PCRE, as
Suricata does with the translated rule. It only shows in a relative option after a regex
whose match could have ended earlier (`/a+/` then `content:"b",distance 0`).

The hyperscan check needs the `hyperscan` module (the prefilter's, optional): without it a
pattern is only checked by PCRE2 when the engine compiles it.
"""

from __future__ import annotations

from dpictl.errors import RuleSyntaxError
from dpictl.rules.ast import Pcre
from dpictl.rules.content import quoted_value
from dpictl.rules.tokens import split_args

REGEX_FLAGS = frozenset("ismR")
_SUB_OPTIONS = frozenset({"fast_pattern", "nocase"})


def parse_regex(value: str | None, buffer: str) -> Pcre:
    """`"/re/flags"[,fast_pattern][,nocase]` -> Pcre (hyperscan-compatible, or refused)."""
    negated, body, rest = quoted_value(value, "regex", "\"/regex/flags\"")
    if negated:
        raise RuleSyntaxError("regex cannot be negated (Snort 3 has no !regex; use pcre)")
    last = body.rfind("/")
    if not body.startswith("/") or last == 0:
        raise RuleSyntaxError(f"regex must be written /regex/flags, got {body[:60]!r}")
    pattern, flags = body[1:last], body[last + 1:].strip()
    if not pattern:
        raise RuleSyntaxError("empty regex pattern")
    for flag in flags:
        if flag not in REGEX_FLAGS:
            raise RuleSyntaxError(f"unknown regex flag {flag!r} in {body[:60]!r} "
                                  f"(Snort 3 allows i, s, m and R)")
    native = "".join(dict.fromkeys(f for f in flags if f != "R"))
    if rest:
        if not rest.startswith(","):
            raise RuleSyntaxError(f"unexpected text after the regex string: {rest[:40]!r}")
        for sub in split_args(rest[1:]):
            name = sub.strip().lower()
            if name not in _SUB_OPTIONS:
                raise RuleSyntaxError(f"unknown regex sub-option {name[:40]!r} "
                                      f"(expected fast_pattern or nocase)")
            if name == "nocase" and "i" not in native:
                native += "i"
    check_hyperscan(pattern, native)
    return Pcre(pattern=pattern, flags=native, relative="R" in flags, buffer=buffer)


def check_hyperscan(pattern: str, flags: str) -> None:
    """Refuse what Snort 3 would refuse: a pattern hyperscan cannot compile."""
    try:
        import hyperscan
    except ImportError:        # optional: PCRE2 still checks the syntax at compile time
        return
    bits = hyperscan.HS_FLAG_SINGLEMATCH
    for flag, bit in (("i", hyperscan.HS_FLAG_CASELESS), ("s", hyperscan.HS_FLAG_DOTALL),
                      ("m", hyperscan.HS_FLAG_MULTILINE)):
        if flag in flags:
            bits |= bit
    try:
        hyperscan.Database(mode=hyperscan.HS_MODE_BLOCK).compile(
            expressions=[pattern.encode("utf-8", "surrogateescape")], flags=[bits])
    except hyperscan.error as err:
        raise RuleSyntaxError(f"regex {pattern[:60]!r} is not hyperscan-compatible "
                              f"(Snort 3 refuses it): {err}") from None


__all__ = ["REGEX_FLAGS", "check_hyperscan", "parse_regex"]
