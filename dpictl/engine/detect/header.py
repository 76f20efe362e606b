"""Rule header matching: addresses and ports, compiled once per distinct spec.

The community rules mostly say `$HOME_NET`/`$EXTERNAL_NET`/`any`, which the rule loader
expands; an unrestricted side compiles to `None` so the hot path skips it with one `is`
test. Restricted sides become integer interval lists per address family: comparing ints is
far cheaper than building `ipaddress` objects per packet, and the parsed address of each
packet is cached (a flow repeats the same few addresses).
"""

from __future__ import annotations

import ipaddress
from functools import lru_cache

from dpictl.rules.ast import AddressSpec, PortSpec


class AddressMatcher:
    """include/exclude CIDR sets; `match(text_ip)` is True when the address is allowed."""

    __slots__ = ("_include", "_exclude", "_any_include")

    def __init__(self, spec: AddressSpec) -> None:
        self._any_include = not spec.include
        self._include = _intervals(spec.include)
        self._exclude = _intervals(spec.exclude)

    def match(self, ip: str) -> bool:
        key = _parse_ip(ip)
        if key is None:
            return False
        if not self._any_include and not _in_intervals(self._include, key):
            return False
        return not _in_intervals(self._exclude, key)


class PortMatcher:
    """Inclusive port ranges with exclusions; small specs become a frozenset lookup."""

    __slots__ = ("_set", "_include", "_exclude")

    def __init__(self, spec: PortSpec) -> None:
        include = spec.include or ((0, 65535),)
        span = sum(hi - lo + 1 for lo, hi in include)
        self._set: frozenset[int] | None = None
        self._include = include
        self._exclude = spec.exclude
        if span <= 4096:
            ports = {p for lo, hi in include for p in range(lo, hi + 1)}
            for lo, hi in spec.exclude:
                ports.difference_update(range(lo, hi + 1))
            self._set = frozenset(ports)

    def match(self, port: int) -> bool:
        if self._set is not None:
            return port in self._set
        for lo, hi in self._exclude:
            if lo <= port <= hi:
                return False
        for lo, hi in self._include:
            if lo <= port <= hi:
                return True
        return False

    def ports(self) -> frozenset[int] | None:
        """The explicit port set when small (used to group signatures by port)."""
        return self._set


def compile_addresses(spec: AddressSpec) -> AddressMatcher | None:
    """None means "any" (no test needed). Equal specs share one matcher."""
    if spec.any and not spec.exclude:
        return None
    if not spec.include and not spec.exclude:
        return None
    return _address_matcher(spec.any, spec.include, spec.exclude)


def compile_ports(spec: PortSpec) -> PortMatcher | None:
    """None means "any". Equal specs share one matcher: the community rules name a few
    port variables thousands of times, and building each one's port set again was half
    of the rule compile time."""
    if spec.any and not spec.exclude:
        return None
    if not spec.include and not spec.exclude:
        return None
    return _port_matcher(spec.any, spec.include, spec.exclude)


# Matchers are immutable, so sharing them is safe; the bound only caps memory when many
# rule sets are compiled in one process.
@lru_cache(maxsize=4096)
def _address_matcher(any_: bool, include: tuple[str, ...],
                     exclude: tuple[str, ...]) -> AddressMatcher:
    return AddressMatcher(AddressSpec(any_, include, exclude))


@lru_cache(maxsize=4096)
def _port_matcher(any_: bool, include: tuple[tuple[int, int], ...],
                  exclude: tuple[tuple[int, int], ...]) -> PortMatcher:
    return PortMatcher(PortSpec(any_, include, exclude))


@lru_cache(maxsize=65536)
def _parse_ip(ip: str) -> tuple[int, int] | None:
    try:
        addr = ipaddress.ip_address(ip)
    except ValueError:
        return None
    return (addr.version, int(addr))


def _intervals(cidrs: tuple[str, ...]) -> tuple[tuple[int, int, int], ...]:
    out = []
    for text in cidrs:
        net = ipaddress.ip_network(text, strict=False)
        out.append((net.version, int(net.network_address), int(net.broadcast_address)))
    return tuple(out)


def _in_intervals(intervals: tuple[tuple[int, int, int], ...], key: tuple[int, int]) -> bool:
    version, value = key
    for v, lo, hi in intervals:
        if v == version and lo <= value <= hi:
            return True
    return False


__all__ = ["AddressMatcher", "PortMatcher", "compile_addresses", "compile_ports"]
