"""Rule-header port fields -> `PortSpec` (inclusive ranges with exclusions).

`80`, `1024:`, `:1024`, `80:90`, `!80`, `[80,8080:8090]`, `$HTTP_PORTS`. How lists and
negations combine is `speclists.py`'s job (Suricata's semantics); ranges come out sorted
and merged, so the 209-port `$HTTP_PORTS` list becomes a few dozen ranges.
"""

from __future__ import annotations

from dpictl.errors import RuleSyntaxError
from dpictl.rules.ast import PortSpec
from dpictl.rules.speclists import Sets, Space, parse_spec
from dpictl.rules.variables import Variables

ANY_PORT = PortSpec()
_FULL = (0, 65535)


def parse_ports(text: str, variables: Variables) -> PortSpec:
    """`80`, `[80,8080:8090]`, `!$HTTP_PORTS`, ... -> PortSpec with merged ranges."""
    if text == "any":
        return ANY_PORT
    return parse_spec(text, variables, _SPACE, _render)


def _atom(atom: str) -> Sets:
    if atom.lower() == "any":
        return {0: [_FULL]}
    lo_text, sep, hi_text = atom.partition(":")
    try:
        lo = int(lo_text) if lo_text else 0
        hi = (int(hi_text) if hi_text else 65535) if sep else lo
    except ValueError:
        raise RuleSyntaxError(f"bad port {atom!r}") from None
    if not (0 <= lo <= 65535 and 0 <= hi <= 65535) or lo > hi:
        raise RuleSyntaxError(f"bad port range {atom!r}")
    return {0: [(lo, hi)]}


def _render(include: Sets, exclude: Sets) -> PortSpec:
    ranges = include.get(0, [])
    any_ = ranges == [_FULL]
    return PortSpec(any=any_, include=() if any_ else tuple(ranges),
                    exclude=tuple(exclude.get(0, [])))


def _no_negation_after_range(text: str) -> None:
    """detect-engine-port.c refuses a `!` met after a `:` until a `]` or a comma at the
    first two list levels ends the range; the rule must be refused here too."""
    depth = 0
    in_range = False
    for ch in text:
        if ch == ":":
            in_range = True
        elif ch == "!" and in_range:
            raise RuleSyntaxError(f"a '!' follows a port range in {text!r} "
                                  f"(Suricata refuses it)")
        elif ch == "[":
            depth += 1
        elif ch == "]":
            depth -= 1
            in_range = False
        elif ch == "," and depth <= 1:
            in_range = False


_SPACE = Space("port", {0: _FULL}, _atom, pushdown=True, check=_no_negation_after_range)

__all__ = ["ANY_PORT", "parse_ports"]
