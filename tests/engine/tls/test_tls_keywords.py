"""ssl_state / ssl_version values as Suricata 7 reads and evaluates them."""

from __future__ import annotations

import pytest

from dpictl.engine.app.tls import (CLIENT_HELLO, SERVER_HELLO, SERVER_KEYX, SSL3, TLS10, TLS12,
                                   TlsState)
from dpictl.engine.detect.tls_keywords import TlsKeywordError, parse_tls_keyword


def _state(current: int = 0, client: int = 0, server: int = 0) -> TlsState:
    state = TlsState()
    state.current = current
    state.sides[True].version, state.sides[False].version = client, server
    return state


@pytest.mark.parametrize("value,current,expected", [
    ("client_hello", CLIENT_HELLO, True),
    ("client_hello", SERVER_HELLO, False),
    ("client_hello,server_hello", SERVER_HELLO, True),
    ("client_hello | server_keyx", SERVER_KEYX, True),
    ("!client_hello", 0, True),
    ("!client_hello", CLIENT_HELLO, False),
    ("!client_hello,server_hello", 0, True),               # (flags & 0) ^ negated
    ("!client_hello,server_hello", CLIENT_HELLO, False),
    ("!client_hello,server_hello", SERVER_HELLO, True),
    ("unknown", SERVER_HELLO, False),                       # never a parser state
    ("!unknown", 0, True),
])
def test_ssl_state(value, current, expected):
    assert parse_tls_keyword("ssl_state", value).holds(_state(current), True) is expected


@pytest.mark.parametrize("value,version,expected", [
    ("tls1.2", TLS12, True),
    ("SSLv3", SSL3, True),                                  # case-insensitive
    ("tls1.0, tls1.2", TLS10, True),
    ("tls1.0,tls1.2", SSL3, False),
    ("!tls1.2", TLS12, False),                              # a negation never matches...
    ("!tls1.2", TLS10, False),                              # ...either way
    ("tls1.0,!tls1.2", TLS10, True),
    ("tls1.2", 0, False),                                   # no version seen yet
])
def test_ssl_version(value, version, expected):
    cond = parse_tls_keyword("ssl_version", value)
    assert cond.holds(_state(client=version), True) is expected
    assert cond.holds(_state(server=version), False) is expected


@pytest.mark.parametrize("keyword,value", [
    ("ssl_state", "client_hola"), ("ssl_state", "client_hello,"), ("ssl_state", ""),
    ("ssl_state", "|client_hello"), ("ssl_version", "tls1.4"), ("ssl_version", ""),
])
def test_values_suricata_refuses(keyword, value):
    with pytest.raises(TlsKeywordError):
        parse_tls_keyword(keyword, value)
