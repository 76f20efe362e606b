"""Rule-header address fields -> `AddressSpec` (CIDR include/exclude lists).

Atoms are validated with `ipaddress` once here, so the engine can trust every string it
gets. How lists, negations and variables combine is `speclists.py`'s job (Suricata's
semantics); this module reads one atom and renders the result as CIDRs: the side selects
`include - exclude`, and it is `any` when `include` is every IPv4 and every IPv6 address.
"""

from __future__ import annotations

import ipaddress

from dpictl.errors import RuleSyntaxError
from dpictl.rules.ast import AddressSpec
from dpictl.rules.speclists import Sets, Space, parse_spec
from dpictl.rules.variables import Variables

ANY_ADDRESS = AddressSpec()
_FULL = {4: (0, 2**32 - 1), 6: (0, 2**128 - 1)}
_ADDRESS = {4: ipaddress.IPv4Address, 6: ipaddress.IPv6Address}


def parse_addresses(text: str, variables: Variables) -> AddressSpec:
    """`$HOME_NET`, `any`, `[10.0.0.0/8,!10.1.0.0/16]`, `!$X`, ... -> AddressSpec."""
    if text == "any":
        return ANY_ADDRESS
    return parse_spec(text, variables, _SPACE, _render)


def _atom(atom: str) -> Sets:
    if atom.lower() == "any":
        return {family: [full] for family, full in _FULL.items()}
    try:
        net = ipaddress.ip_network(atom, strict=False)
    except ValueError:
        raise RuleSyntaxError(f"bad address {atom!r}") from None
    return {net.version: [(int(net.network_address), int(net.broadcast_address))]}


def _render(include: Sets, exclude: Sets) -> AddressSpec:
    any_ = all(include.get(family) == [full] for family, full in _FULL.items())
    return AddressSpec(any=any_, include=() if any_ else _cidrs(include),
                       exclude=_cidrs(exclude))


def _cidrs(sets: Sets) -> tuple[str, ...]:
    out: list[str] = []
    for family in sorted(sets):
        make = _ADDRESS[family]
        for lo, hi in sets[family]:
            out += (str(net) for net in ipaddress.summarize_address_range(make(lo), make(hi)))
    return tuple(out)


_SPACE = Space("address", _FULL, _atom, pushdown=False)

__all__ = ["ANY_ADDRESS", "parse_addresses"]
