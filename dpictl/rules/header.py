"""The rule header: `action proto src sport -> dst dport`, or Snort 3's `action service`.

Snort 3 service rules (`alert http (...)`) have no addresses: they apply to any traffic the
service is detected on, so both sides are `any` and the service goes into `services`.
"""

from __future__ import annotations

import re
from dataclasses import dataclass

from dpictl.errors import RuleSyntaxError
from dpictl.rules.addresses import ANY_ADDRESS, parse_addresses
from dpictl.rules.ast import AddressSpec, PortSpec
from dpictl.rules.dialect import SNORT_PROTOS
from dpictl.rules.ports import ANY_PORT, parse_ports
from dpictl.rules.variables import Variables

ACTIONS = frozenset({"alert", "log", "pass", "drop", "reject", "sdrop", "block", "react",
                     "rewrite"})
_SERVICE = re.compile(r"[a-z][a-z0-9_-]*\Z")
_SPACE_IN_LIST = re.compile(r"\[[^\]]*\s")


@dataclass(slots=True)
class Header:
    action: str
    proto: str
    src: AddressSpec
    src_ports: PortSpec
    bidirectional: bool
    dst: AddressSpec
    dst_ports: PortSpec
    services: tuple[str, ...] = ()


def header_fields(text: str) -> list[str]:
    """Split on whitespace, except inside `[...]` lists (`[1.2.3.4, 5.6.7.8]`)."""
    if "[" not in text or not _SPACE_IN_LIST.search(text):
        return text.split()
    fields: list[str] = []
    depth = 0
    current: list[str] = []
    for ch in text:
        if ch == "[":
            depth += 1
        elif ch == "]":
            depth -= 1
        if ch.isspace() and depth <= 0:
            if current:
                fields.append("".join(current))
                current = []
            continue
        if not ch.isspace():
            current.append(ch)
    if current:
        fields.append("".join(current))
    return fields


def parse_header(fields: list[str], variables: Variables) -> Header:
    if not fields:
        raise RuleSyntaxError("empty rule header")
    action = fields[0].lower()
    if action not in ACTIONS:
        raise RuleSyntaxError(f"unknown rule action {fields[0]!r} "
                              f"(expected one of {', '.join(sorted(ACTIONS))})")
    if len(fields) == 2:
        proto = fields[1].lower()
        if not _SERVICE.match(proto):
            raise RuleSyntaxError(f"bad protocol or service {fields[1]!r}")
        services = () if proto in SNORT_PROTOS else (proto,)
        return Header(action, proto, ANY_ADDRESS, ANY_PORT, False, ANY_ADDRESS, ANY_PORT,
                      services)
    if len(fields) != 7:
        raise RuleSyntaxError(
            f"rule header needs 'action proto src_addr src_port -> dst_addr dst_port' "
            f"(7 fields) or 'action service' (2), got {len(fields)}: {' '.join(fields)!r}")
    _, proto_text, src, sport, direction, dst, dport = fields
    proto = proto_text.lower()
    if not _SERVICE.match(proto):
        raise RuleSyntaxError(f"bad protocol {proto_text!r}")
    if direction not in ("->", "<>"):
        raise RuleSyntaxError(f"direction must be '->' or '<>', got {direction!r}")
    services = () if proto in SNORT_PROTOS else (proto,)
    return Header(action, proto,
                  parse_addresses(src, variables), parse_ports(sport, variables),
                  direction == "<>",
                  parse_addresses(dst, variables), parse_ports(dport, variables), services)


__all__ = ["ACTIONS", "Header", "header_fields", "parse_header"]
