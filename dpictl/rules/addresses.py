"""Rule-header address fields -> `AddressSpec` (CIDR include/exclude lists).

Atoms are validated with `ipaddress` once here, so the engine can trust every string it
gets. A side is `any` when nothing is included (`!10.0.0.0/8` means "anything but that").
"""

from __future__ import annotations

import ipaddress

from dpictl.errors import RuleSyntaxError
from dpictl.rules.ast import AddressSpec
from dpictl.rules.speclists import flatten
from dpictl.rules.variables import Variables

ANY_ADDRESS = AddressSpec()


def parse_addresses(text: str, variables: Variables) -> AddressSpec:
    """`$HOME_NET`, `any`, `[10.0.0.0/8,!10.1.0.0/16]`, `!$X`, ... -> AddressSpec."""
    key = ("addr", text)
    cached = variables.cache.get(key)
    if cached is not None:
        return cached  # type: ignore[return-value]
    spec = _build(flatten(text, variables, "address"), text)
    variables.cache[key] = spec
    return spec


def _build(atoms: list[tuple[str, bool]], text: str) -> AddressSpec:
    any_ = False
    include: list[str] = []
    exclude: list[str] = []
    for atom, negated in atoms:
        if atom.lower() == "any":
            if negated:
                raise RuleSyntaxError(f"'!any' in {text!r} matches no address")
            any_ = True
            continue
        cidr = _cidr(atom)
        (exclude if negated else include).append(cidr)
    if any_ or not include:
        return AddressSpec(any=True, include=(), exclude=tuple(dict.fromkeys(exclude)))
    return AddressSpec(any=False, include=tuple(dict.fromkeys(include)),
                       exclude=tuple(dict.fromkeys(exclude)))


def _cidr(atom: str) -> str:
    try:
        return str(ipaddress.ip_network(atom, strict=False))
    except ValueError:
        raise RuleSyntaxError(f"bad address {atom!r}") from None


__all__ = ["ANY_ADDRESS", "parse_addresses"]
