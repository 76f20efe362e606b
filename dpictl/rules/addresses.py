"""Rule-header address fields -> `AddressSpec` (CIDR include/exclude lists).

Atoms are validated with `ipaddress` once here, so the engine can trust every string it
gets. A side is `any` when nothing is included (`!10.0.0.0/8` means "anything but that").
"""

from __future__ import annotations

import ipaddress

from dpictl.errors import RuleSyntaxError
from dpictl.rules.ast import AddressSpec
from dpictl.rules.speclists import parse_spec
from dpictl.rules.variables import Variables

ANY_ADDRESS = AddressSpec()


def parse_addresses(text: str, variables: Variables) -> AddressSpec:
    """`$HOME_NET`, `any`, `[10.0.0.0/8,!10.1.0.0/16]`, `!$X`, ... -> AddressSpec."""
    return parse_spec(text, variables, "address", _cidr, _unique, AddressSpec)


def _unique(cidrs: list[str]) -> tuple[str, ...]:
    return tuple(dict.fromkeys(cidrs))


def _cidr(atom: str) -> str:
    try:
        return str(ipaddress.ip_network(atom, strict=False))
    except ValueError:
        raise RuleSyntaxError(f"bad address {atom!r}") from None


__all__ = ["ANY_ADDRESS", "parse_addresses"]
