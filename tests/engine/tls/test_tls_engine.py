"""TLS through the engine (no Suricata needed): where TLS is recognised, ssl_* rules once
per direction, and no payload inspection after application data."""

from __future__ import annotations

import pytest
from tls_sessions import (APPDATA, HANDSHAKE, TLS10, TLS12, Session, client_hello,
                          client_key_exchange, record, server_hello)

from dpictl.engine import Engine
from dpictl.engine.app.detect import MATCH, NEED_MORE, NO_MATCH, probe_tls
from dpictl.rules import parse_rules_text


@pytest.mark.parametrize("prefix,to_server,port,verdict", [
    (b"\x16\x03\x01\x00\x05", True, 8080, MATCH),
    (b"\x17\x03\x03\x00\x05", True, 443, NO_MATCH),         # application data opens no flow
    (b"\x17\x03\x03\x00\x05", False, 443, MATCH),
    (b"\x80\x2e\x01\x03\x01", True, 443, MATCH),            # SSLv2-compatible hello on 443
    (b"\x80\x2e\x01\x03\x01", True, 8443, NO_MATCH),        # elsewhere only version 2
    (b"\x80\x2e\x01\x00\x02", True, 8443, MATCH),
    (b"\x16\x03", True, 80, NEED_MORE),
    (b"GET / HTTP/1.1", True, 443, NO_MATCH),
])
def test_probe_tls(prefix, to_server, port, verdict):
    assert probe_tls(prefix, to_server, port) == verdict


RULES = """\
alert tcp any any -> any any (msg:"client hello seen"; flow:to_client; ssl_state:client_hello; sid:1;)
alert tcp any any -> any any (msg:"tls1.2 client"; flow:to_server; ssl_version:tls1.2; sid:2;)
alert tcp any any -> any any (msg:"in app data"; flow:to_server; content:"SECRET"; sid:3;)
alert tcp any any -> any any (msg:"in hello"; flow:to_server; content:"a.example"; sid:4;)
"""


def _run(session: Session) -> list:
    engine = Engine(parse_rules_text(RULES).rules)
    dets = []
    for i, frame in enumerate(session.frames()):
        dets += engine.feed(1700000000.0 + i * 0.001, frame, 1)
    return dets + engine.flush()


def test_tls_on_any_port_once_per_direction_and_blind_after_application_data():
    s = Session(sport=40001, dport=9999)
    s.send(True, record(HANDSHAKE, TLS10, client_hello(TLS12, sni=b"a.example")))
    s.send(False, record(HANDSHAKE, TLS12, server_hello()))
    s.send(True, record(HANDSHAKE, TLS12, client_key_exchange()))
    s.send(True, record(HANDSHAKE, TLS10, client_hello(TLS12)))    # a second hello
    s.send(False, record(HANDSHAKE, TLS12, server_hello()))
    s.send(True, record(APPDATA, TLS12, b"SECRET" * 10))
    dets = _run(s)
    assert sorted(d.sid for d in dets) == [1, 2, 4]
    assert {d.app_proto for d in dets} == {"tls"}
