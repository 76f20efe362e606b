"""The TLS parser on mutated and random handshakes, split at random points and acknowledged
piece by piece: it never raises, and its state stays within what the keywords read (a known
state flag or none, a 16-bit version per side)."""

from __future__ import annotations

import sys
from pathlib import Path

from hypothesis import given, settings
from hypothesis import strategies as st

from dpictl.engine.app.tls import CLIENT_HELLO, CLIENT_KEYX, SERVER_HELLO, SERVER_KEYX, TlsState

from .budget import examples
from .mutate import mutated

sys.path.insert(0, str(Path(__file__).resolve().parents[1] / "engine" / "tls"))
from tls_sessions import (HANDSHAKE, TLS10, TLS12, certificate, client_hello,  # noqa: E402
                          client_key_exchange, record, server_hello, server_hello_done,
                          server_key_exchange, sslv2_client_hello)

CLIENT = (record(HANDSHAKE, TLS10, client_hello(TLS12, supported=(0x0304, TLS12))) +
          record(HANDSHAKE, TLS12, client_key_exchange()) + sslv2_client_hello())
SERVER = record(HANDSHAKE, TLS12, server_hello(TLS12, selected=0x0304) +
                certificate(b"\x30\x03\x02\x01\x01") + server_key_exchange() +
                server_hello_done())
_STATES = {0, CLIENT_HELLO, SERVER_HELLO, CLIENT_KEYX, SERVER_KEYX}


def _feed(state: TlsState, to_server: bool, data: bytes, cuts: list[int]) -> None:
    points = sorted({c % (len(data) + 1) for c in cuts} | {0, len(data)})
    for a, b in zip(points, points[1:]):
        state.queue(to_server, data[a:b], None)
        state.ack(to_server, None)


def _check(state: TlsState) -> None:
    assert state.current & 0xFF in _STATES
    assert all(0 <= state.version(d) <= 0xFFFF for d in (True, False))


@settings(max_examples=examples(300))
@given(client=mutated(CLIENT, max_ops=4), server=mutated(SERVER, max_ops=4),
       cuts=st.lists(st.integers(0, 4096), max_size=6))
def test_mutated_handshakes(client: bytes, server: bytes, cuts: list[int]) -> None:
    state = TlsState()
    _feed(state, True, client, cuts)
    _feed(state, False, server, cuts)
    _check(state)


@settings(max_examples=examples(300))
@given(data=st.binary(max_size=512), to_server=st.booleans(),
       cuts=st.lists(st.integers(0, 512), max_size=4))
def test_random_bytes(data: bytes, to_server: bool, cuts: list[int]) -> None:
    state = TlsState()
    _feed(state, to_server, data, cuts)
    _check(state)
