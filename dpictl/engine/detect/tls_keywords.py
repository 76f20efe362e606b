"""`ssl_state` and `ssl_version`: parsed at load time into tests of a flow's `TlsState`.

The semantics are Suricata 7's (detect-ssl-state.c, detect-ssl-version.c), checked against
Suricata 7.0.10 on crafted sessions (tests/engine/tls/test_tls_vs_suricata.py):

- `ssl_state:a,b` (or `a|b`) matches when the state of the last handshake message parsed
  is one of them; `!a` negates one name, and the names combine as Suricata's
  `(flags & current) ^ negated_flags` does: `ssl_state:!client_hello` matches any other
  state, including none. `unknown` is never a parser state: it never matches, `!unknown`
  always does.
- `alert tls` (Snort 3: `alert ssl`) rules run the same way, on TLS flows only.
- `ssl_version:a,b` matches when the version of the packet's direction is one of the
  listed ones. A negated version never makes the keyword match (Suricata XORs the
  negation with "is this the listed version"), and a version outside SSLv2..TLS 1.3 never
  matches anything.
"""

from __future__ import annotations

import re
from dataclasses import dataclass

from dpictl.engine.app.tls import (CLIENT_HELLO, CLIENT_KEYX, SERVER_HELLO, SERVER_KEYX, SSL2,
                                   SSL3, TLS10, TLS11, TLS12, TLS13, UNKNOWN, TlsState)

TLS_KEYWORDS = frozenset({"ssl_state", "ssl_version"})
# rule protocols that mean "on TLS flows" (Snort 3 writes the service `ssl`)
TLS_PROTOCOLS = frozenset({"tls", "ssl"})

_STATES = {"client_hello": CLIENT_HELLO, "server_hello": SERVER_HELLO,
           "client_keyx": CLIENT_KEYX, "server_keyx": SERVER_KEYX, "unknown": UNKNOWN}
# Suricata compares a prefix of the word, case-insensitively (strncasecmp)
_VERSIONS = (("sslv2", SSL2), ("sslv3", SSL3), ("tls1.0", TLS10), ("tls1.1", TLS11),
             ("tls1.2", TLS12), ("tls1.3", TLS13))
_KNOWN_VERSIONS = frozenset(v for _, v in _VERSIONS)
_STATE_FIRST = re.compile(r"(!?)(\w+)(.*)$", re.S)
_STATE_NEXT = re.compile(r"\s*[|,]\s*(!?)(\w+)(.*)$", re.S)


class TlsKeywordError(ValueError):
    """The keyword's value is not one Suricata accepts."""


@dataclass(frozen=True, slots=True)
class TlsCondition:
    """One ssl_state (flags, negated) or ssl_version (versions) keyword, or the rule's
    `tls` protocol (keyword "tls": any TLS flow)."""

    keyword: str
    flags: int = 0
    negated: int = 0
    versions: frozenset[int] = frozenset()

    def holds(self, tls: TlsState, to_server: bool) -> bool:
        if self.keyword == "ssl_state":
            return bool((self.flags & tls.current) ^ self.negated)
        if self.keyword == "tls":
            return True
        return tls.version(to_server) in self.versions


def parse_tls_keyword(keyword: str, value: str | None) -> TlsCondition:
    text = (value or "").strip()
    if keyword == "ssl_state":
        return _ssl_state(text)
    return _ssl_version(text)


def _ssl_state(text: str) -> TlsCondition:
    m = _STATE_FIRST.match(text)
    if m is None:
        raise TlsKeywordError(f"ssl_state: invalid value {text!r}")
    flags = negated = 0
    while m is not None:
        bang, name, rest = m.groups()
        bit = _STATES.get(name)
        if bit is None:
            raise TlsKeywordError(f"ssl_state: unknown state {name!r}")
        flags |= bit
        negated |= bit if bang else 0
        if not rest:
            break
        m = _STATE_NEXT.match(rest)
        if m is None:
            raise TlsKeywordError(f"ssl_state: invalid value {text!r}")
    return TlsCondition("ssl_state", flags=flags, negated=negated)


def _ssl_version(text: str) -> TlsCondition:
    words = [w.strip().strip('"') for w in text.split(",")]
    if not words or not words[0] or len(words) > 5:
        raise TlsKeywordError(f"ssl_version: invalid value {text!r}")
    versions = set()
    for word in words:
        negated = word.startswith("!")
        name = word[1:] if negated else word
        version = next((v for prefix, v in _VERSIONS if name.lower().startswith(prefix)), None)
        if version is None:
            raise TlsKeywordError(f"ssl_version: unknown version {word!r}")
        if not negated:
            versions.add(version)
    return TlsCondition("ssl_version", versions=frozenset(versions))


__all__ = ["TLS_KEYWORDS", "TLS_PROTOCOLS", "TlsCondition", "TlsKeywordError", "parse_tls_keyword"]
