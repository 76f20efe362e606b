"""flowbits: named booleans on a flow, set by one rule and tested by another.

Suricata evaluates isset/isnotset as match conditions and set/unset/toggle only after the
whole signature matched (post-match), in signature order; setters are ordered before
testers so a bit set by one rule is visible to another on the same packet. Bits live in a
`set[str]` on the flow object; packets without a flow have no bits.
"""

from __future__ import annotations

from dpictl.rules.ast import Flowbits


def check(bits: set[str] | None, tests: tuple[Flowbits, ...]) -> bool:
    for t in tests:
        if bits is None:
            state = False if t.command == "isset" else True
            if not state:
                return False
            continue
        if t.any_of:
            present = any(name in bits for name in t.names)
            if t.command == "isset" and not present:
                return False
            if t.command == "isnotset" and all(name in bits for name in t.names):
                return False
        else:
            if t.command == "isset" and not all(name in bits for name in t.names):
                return False
            if t.command == "isnotset" and any(name in bits for name in t.names):
                return False
    return True


def apply(bits: set[str] | None, actions: tuple[Flowbits, ...]) -> None:
    if bits is None:
        return
    for a in actions:
        if a.command == "set":
            bits.update(a.names)
        elif a.command == "unset":
            bits.difference_update(a.names)
        elif a.command == "toggle":
            for name in a.names:
                if name in bits:
                    bits.discard(name)
                else:
                    bits.add(name)
        elif a.command == "reset":
            bits.clear()


__all__ = ["check", "apply"]
