"""Protocol detection by content and the app-layer driver on flows."""

from __future__ import annotations

import pytest

from dpictl.engine.app import APP_FAILED, APP_HTTP, AppLayer
from dpictl.engine.app.detect import MATCH, NEED_MORE, NO_MATCH, probe_http
from dpictl.engine.flow_table import Flow
from dpictl.engine.packet import PROTO_TCP, Packet

PROBES = [
    (b"GET / HTTP/1.1", True, MATCH),
    (b"get /x", True, MATCH),
    (b"G", True, NEED_MORE),
    (b"PROPFIND /d HTTP/1.1\r\n", True, MATCH),
    (b"FOO /x HTTP/1.0\r\n", True, MATCH),                 # unknown method, HTTP request line
    (b"\x16\x03\x01\x02\x00", True, NO_MATCH),             # TLS
    (b"SSH-2.0-OpenSSH_9.2\r\n", True, NO_MATCH),
    (b"EHLO mail\r\n", True, NO_MATCH),
    (b"HTTP/1.1 200 OK\r\n", False, MATCH),
    (b"HT", False, NEED_MORE),
    (b"220 smtp ready\r\n", False, NO_MATCH),
    (b"PRI * HTTP/2.0\r\n\r\nSM\r\n\r\n", True, NO_MATCH),   # HTTP/2 preface
]


@pytest.mark.parametrize("prefix,to_server,verdict", PROBES)
def test_probe_http(prefix, to_server, verdict):
    assert probe_http(prefix, to_server) == verdict


def _flow() -> Flow:
    return Flow(("1.1.1.1", 5555, "2.2.2.2", 8080, PROTO_TCP), 1,
                Packet(ts=0.0, src="1.1.1.1", dst="2.2.2.2", sport=5555, dport=8080,
                       ip_proto=PROTO_TCP))


def test_http_on_any_port_split_detection():
    app, flow = AppLayer(), _flow()
    assert app.feed(flow, b"PO", True, 1.0) == [] and flow.app_proto is None
    events = app.feed(flow, b"ST /x HTTP/1.1\r\nContent-Length: 1\r\n\r\nz", True, 1.0)
    assert flow.app_proto == APP_HTTP
    assert events[-1].tx.get("http_client_body", True) == b"z"


def test_garbage_on_port_80_fails_quietly():
    app, flow = AppLayer(), _flow()
    assert app.feed(flow, bytes(range(256)) * 4, True, 1.0) == []
    assert flow.app_proto == APP_FAILED and flow.app is None
    assert app.feed(flow, b"GET / HTTP/1.1\r\n\r\n", True, 1.0) == []
    assert app.finish(flow, 2.0) == []


def test_server_speaks_first_then_client_decides():
    app, flow = AppLayer(), _flow()
    app.feed(flow, b"220 ready\r\n", False, 1.0)
    assert flow.app_proto is None
    app.feed(flow, b"USER anonymous\r\n", True, 1.0)     # FTP: not parsed (SMTP: see
    assert flow.app_proto == APP_FAILED                    # tests/engine/smtp)


def test_close_delimited_body_finishes_on_finish():
    app, flow = AppLayer(), _flow()
    app.feed(flow, b"GET / HTTP/1.0\r\n\r\n", True, 1.0)
    app.feed(flow, b"HTTP/1.0 200 OK\r\n\r\nbody", False, 1.0)
    events = app.finish(flow, 2.0)
    assert [e.kind for e in events] == ["response_done"]
    assert events[0].tx.get("file_data", False) == b"body"


def test_holes_reach_the_parser():
    app, flow = AppLayer(), _flow()
    app.feed(flow, b"GET / HTTP/1.1\r\n\r\n", True, 1.0)
    app.feed(flow, b"HTTP/1.1 200 OK\r\nContent-Length: 6\r\n\r\nab", False, 1.0)
    events = app.feed(flow, b"efHTTP/1.1 204 No\r\n\r\n", False, 1.0, holes=[(0, 2)])
    assert [e.kind for e in events] == ["response_done", "response_headers", "response_done"]
    assert events[0].tx.get("file_data", False) == b"abef"


def test_hole_before_detection_fails_the_flow():
    app, flow = AppLayer(), _flow()
    app.feed(flow, b"GE", True, 1.0)
    assert app.feed(flow, b"xyz", True, 1.0, holes=[(0, 5)]) == []
    assert flow.app_proto == APP_FAILED


def test_undecided_bytes_are_bounded():
    app, flow = AppLayer(), _flow()
    for _ in range(100):
        app.feed(flow, b"x" * 1000, False, 1.0)            # a chatty non-HTTP server
    assert flow.app_proto is None and flow.app.data == [b"", b""]
    app.feed(flow, b"GET / HTTP/1.1\r\n\r\n", True, 1.0)
    assert flow.app_proto == APP_HTTP
