"""Snort 3 `ber_data:<type>` and `ber_skip:<type>[,optional]`: walk BER-encoded data
(X.509 certificates, SNMP, LDAP, Kerberos) from the cursor, one element at a time.

The type is the element's identifier as one number, 0..255 (Snort 3's range), written in
decimal or hex (`0x30`).
"""

from __future__ import annotations

from dpictl.errors import RuleSyntaxError
from dpictl.rules.ast import BerData, BerSkip
from dpictl.rules.content import parse_int
from dpictl.rules.tokens import split_args


def _type(keyword: str, text: str) -> int:
    number = parse_int(text, f"{keyword} type")
    if not 0 <= number <= 255:
        raise RuleSyntaxError(f"{keyword} type must be 0..255, got {text.strip()!r}")
    return number


def parse_ber_data(value: str | None, buffer: str) -> BerData:
    args = split_args(value or "")
    if len(args) != 1:
        raise RuleSyntaxError(f"ber_data takes one BER type, got {value!r}")
    return BerData(type=_type("ber_data", args[0]), buffer=buffer)


def parse_ber_skip(value: str | None, buffer: str) -> BerSkip:
    args = split_args(value or "")
    if not args or len(args) > 2:
        raise RuleSyntaxError(f"ber_skip takes a BER type and optionally 'optional', "
                              f"got {value!r}")
    node = BerSkip(type=_type("ber_skip", args[0]), buffer=buffer)
    if len(args) == 2:
        if args[1].strip() != "optional":
            raise RuleSyntaxError(f"unknown ber_skip argument {args[1].strip()[:40]!r}")
        node.optional = True
    return node


__all__ = ["parse_ber_data", "parse_ber_skip"]
