"""IP addresses as text, memoised.

`Packet.src`/`dst` are text (alerts, flow keys and endpoint attribution all want text), but
`socket.inet_ntop` costs ~2 µs for an IPv6 address and `inet_ntoa` ~0.4 µs for IPv4: a large
share of the per-packet budget. A capture sees few distinct addresses, so a plain dict keyed by
the raw bytes turns that into a ~30 ns lookup. The dict is simply cleared when it grows past
`MAX_CACHED`, which bounds memory under a spoofed-source flood without LRU bookkeeping.
"""

from __future__ import annotations

import socket

MAX_CACHED = 1 << 16

_ntoa = socket.inet_ntoa
_ntop = socket.inet_ntop
_AF_INET6 = socket.AF_INET6
_cache: dict[bytes, str] = {}


def ipv4_text(raw: bytes) -> str:
    """Dotted-quad text of a 4-byte address."""
    text = _cache.get(raw)
    if text is None:
        if len(_cache) >= MAX_CACHED:
            _cache.clear()
        text = _cache[raw] = _ntoa(raw)
    return text


def ipv6_text(raw: bytes) -> str:
    """RFC 5952 text of a 16-byte address (what `inet_ntop` and Suricata's EVE print)."""
    text = _cache.get(raw)
    if text is None:
        if len(_cache) >= MAX_CACHED:
            _cache.clear()
        text = _cache[raw] = _ntop(_AF_INET6, raw)
    return text


__all__ = ["ipv4_text", "ipv6_text", "MAX_CACHED"]
