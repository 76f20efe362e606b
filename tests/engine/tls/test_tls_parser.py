"""The TLS parser's state, fed as the engine feeds it: bytes queued with their end
sequence number, parsed when the peer acknowledges them."""

from __future__ import annotations

from tls_sessions import (APPDATA, CCS, HANDSHAKE, TLS10, TLS12, TLS13, certificate,
                          client_hello, client_key_exchange, handshake, record, server_hello,
                          server_hello_done, server_key_exchange, sslv2_client_hello,
                          sslv2_server_hello)

from dpictl.engine.app.tls import (CLIENT_HELLO, CLIENT_KEYX, SERVER_HELLO, SERVER_KEYX, SSL2,
                                   TlsState)


def _fed(to_server: bool, *chunks: bytes, state: TlsState | None = None) -> TlsState:
    """Each chunk queued and acknowledged in turn."""
    state = state or TlsState()
    for data in chunks:
        state.queue(to_server, data, None)
        state.ack(to_server, None)
    return state


def test_bytes_are_parsed_only_once_acknowledged():
    state = TlsState()
    hello = record(HANDSHAKE, TLS10, client_hello(TLS12, sni=b"a.example"))
    state.queue(True, hello, 1000 + len(hello))
    state.ack(True, 1000)                       # acknowledges nothing of it yet
    assert state.current == 0 and not state.started
    state.ack(True, 1000 + len(hello))
    assert state.current == CLIENT_HELLO
    assert state.version(True) == TLS12         # the hello's version, not the record's
    assert state.sides[True].sni == b"a.example"
    assert state.updated == [True, True]


def test_the_last_handshake_message_of_a_record_is_the_state():
    flight = server_hello() + certificate(b"\x30\x00") + server_key_exchange() + server_hello_done()
    assert _fed(False, record(HANDSHAKE, TLS12, flight)).current == SERVER_KEYX
    assert _fed(False, record(HANDSHAKE, TLS12, server_hello() + certificate(b"\x30\x00"))
                ).current == SERVER_HELLO


def test_a_record_split_across_acks_clears_the_state_then_sets_it_when_complete():
    state = _fed(True, record(HANDSHAKE, TLS10, client_hello()))
    data = record(HANDSHAKE, TLS12, server_hello())
    _fed(False, data[:10], state=state)
    assert state.current == 0                   # a parse began on a record boundary
    state.updated = [False, False]
    _fed(False, data[10:20], state=state)
    assert state.updated == [False, False]      # Suricata waits for the whole record
    _fed(False, data[20:], state=state)
    assert state.current == SERVER_HELLO and state.updated == [True, True]
    assert state.version(False) == TLS12


def test_a_handshake_message_continued_in_the_next_record():
    msg = client_key_exchange(bytes(300))
    state = _fed(True, record(HANDSHAKE, TLS12, msg[:100]))
    assert state.current == 0
    _fed(True, record(HANDSHAKE, TLS12, msg[100:]), state=state)
    assert state.current == CLIENT_KEYX


def test_sslv2_hellos():
    plain = _fed(True, sslv2_client_hello())
    assert plain.current & CLIENT_HELLO
    assert plain.version(True) == 0x0002        # its own field: not SSLv2's 0x0200
    compatible = _fed(True, sslv2_client_hello(version=TLS10))
    assert compatible.version(True) == TLS10
    _fed(False, sslv2_server_hello(), state=compatible)
    assert compatible.current & SERVER_HELLO and compatible.version(False) == SSL2


def test_supported_versions_give_tls13():
    state = _fed(True, record(HANDSHAKE, TLS10, client_hello(supported=(TLS13, TLS12))))
    _fed(False, record(HANDSHAKE, TLS12, server_hello(selected=TLS13)), state=state)
    assert state.version(True) == TLS13 and state.version(False) == TLS13


def test_application_data_ends_payload_inspection_and_encrypted_handshakes_are_skipped():
    state = _fed(True, record(HANDSHAKE, TLS10, client_hello()),
                 record(HANDSHAKE, TLS12, client_key_exchange()))
    _fed(True, record(CCS, TLS12, b"\x01"), record(HANDSHAKE, TLS12, handshake(1, bytes(8))),
         state=state)
    assert state.current == 0 and not state.no_inspection    # the "hello" was encrypted
    _fed(True, record(APPDATA, TLS12, b"secret"), state=state)
    assert state.no_inspection


def test_nothing_is_parsed_past_a_gap_or_a_foreign_record():
    state = TlsState()
    state.queue(True, record(HANDSHAKE, TLS10, client_hello())[:30], None)
    state.gap(True)
    state.queue(True, record(HANDSHAKE, TLS12, client_key_exchange()), None)
    state.ack(True, None)
    assert state.current == 0 and state.sides[True].broken
    foreign = _fed(False, b"\x42\x03\x03\x00\x02ab", record(HANDSHAKE, TLS12, server_hello()))
    assert foreign.current == 0
