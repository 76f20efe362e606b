"""`pcre` through PCRE2, with limits so that no rule or packet can stall the engine.

Suricata compiles Snort's `/re/flags` with PCRE2 and treats "match limit exceeded" as no
match; we do the same. The limits are put inside the pattern (`(*LIMIT_MATCH=n)`,
`(*LIMIT_DEPTH=n)`) because the Python binding exposes no match context; PCRE2 honours them
with and without JIT. The pattern is compiled and JIT-compiled in the constructor (about
0.1 ms each), never on a packet. A `Regex` pickles as its source and compiles again when
loaded: the Python binding cannot serialize compiled code.
"""

from __future__ import annotations

import pcre2

# Same order of magnitude as Suricata's defaults (pcre match-limit 3500, recursion 1500):
# enough for every community regex on real traffic, small enough to bound a hostile one.
MATCH_LIMIT = 3500
DEPTH_LIMIT = 1500

# Plain ints: `|` on the binding's enum.Flag members costs ~60 us each, a tenth of a second
# over the community rules' regexes (on every start, cached or not).
_FLAG_BITS = {"i": int(pcre2.I), "s": int(pcre2.S), "m": int(pcre2.M), "x": int(pcre2.X)}
_EXTENDED = int(pcre2.X)


class RegexError(ValueError):
    """The regex does not compile with PCRE2 (the rule is rejected, with this reason)."""


class Regex:
    """One compiled `pcre`; `search(buf, pos)` returns (start, end) or None."""

    __slots__ = ("_code", "_source", "anchored")

    def __init__(self, pattern: str, flags: str) -> None:
        self._source = (pattern, flags)
        bits = 0
        prefix = ""
        for flag in flags:
            if flag in _FLAG_BITS:
                bits |= _FLAG_BITS[flag]
            elif flag == "G":
                prefix += "(?U)"
            # E (dollar end-only) and O (override limits) have no inline form; E differs
            # only on a trailing newline, O is deliberately ignored (limits always apply).
        self.anchored = "A" in flags
        body = f"(?:{pattern}\n)" if bits & _EXTENDED else f"(?:{pattern})"
        if self.anchored:
            body = "\\G" + body
        text = f"(*LIMIT_MATCH={MATCH_LIMIT})(*LIMIT_DEPTH={DEPTH_LIMIT}){prefix}{body}"
        source = text.encode("utf-8", "surrogateescape")
        try:
            self._code = pcre2.compile(source, flags=bits, jit=True)
        except Exception as exc:  # pcre2 raises its own error types
            try:  # JIT unavailable on this platform: the interpreter still works
                self._code = pcre2.compile(source, flags=bits, jit=False)
            except Exception:
                raise RegexError(f"pcre does not compile: {exc}") from None

    def __reduce__(self):
        return (Regex, self._source)

    def search(self, buf: bytes, pos: int = 0) -> tuple[int, int] | None:
        if pos > len(buf):
            return None
        try:
            m = self._code.search(buf, pos)
        except Exception:  # match/depth limit exceeded: no match, like Suricata
            return None
        if m is None:
            return None
        return m.span()


__all__ = ["Regex", "RegexError", "MATCH_LIMIT", "DEPTH_LIMIT"]
