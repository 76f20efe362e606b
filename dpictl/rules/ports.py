"""Rule-header port fields -> `PortSpec` (inclusive ranges with exclusions).

`80`, `1024:`, `:1024`, `80:90`, `!80`, `[80,8080:8090]`, `$HTTP_PORTS`. Ranges are sorted
and merged so that the 209-port `$HTTP_PORTS` list becomes a few dozen ranges.
"""

from __future__ import annotations

from dpictl.errors import RuleSyntaxError
from dpictl.rules.ast import PortSpec
from dpictl.rules.speclists import parse_spec
from dpictl.rules.variables import Variables

ANY_PORT = PortSpec()


def parse_ports(text: str, variables: Variables) -> PortSpec:
    """`80`, `[80,8080:8090]`, `!$HTTP_PORTS`, ... -> PortSpec with merged ranges."""
    return parse_spec(text, variables, "port", _range, _merge, PortSpec)


def _range(atom: str) -> tuple[int, int]:
    lo_text, sep, hi_text = atom.partition(":")
    try:
        lo = int(lo_text) if lo_text else 0
        hi = (int(hi_text) if hi_text else 65535) if sep else lo
    except ValueError:
        raise RuleSyntaxError(f"bad port {atom!r}") from None
    if not (0 <= lo <= 65535 and 0 <= hi <= 65535) or lo > hi:
        raise RuleSyntaxError(f"bad port range {atom!r}")
    return (lo, hi)


def _merge(ranges: list[tuple[int, int]]) -> tuple[tuple[int, int], ...]:
    merged: list[tuple[int, int]] = []
    for lo, hi in sorted(ranges):
        if merged and lo <= merged[-1][1] + 1:
            if hi > merged[-1][1]:
                merged[-1] = (merged[-1][0], hi)
        else:
            merged.append((lo, hi))
    return tuple(merged)


__all__ = ["ANY_PORT", "parse_ports"]
