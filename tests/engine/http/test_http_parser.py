"""HTTP/1.x parser: buffers as Suricata 7 fills them (checked with probe rules), events, limits."""

from __future__ import annotations

import gzip
import zlib

import pytest

from dpictl.engine.http import (
    REQUEST_BODY, REQUEST_DONE, REQUEST_HEADERS, RESPONSE_BODY, RESPONSE_DONE, RESPONSE_HEADERS,
    HttpLimits, HttpParser,
)

LAB_POST = (b"POST / HTTP/1.1\r\nHost: 10.0.0.2\r\nUser-Agent: Mozilla/4.0\r\nAccept: */*\r\n"
            b"Content-Length: 8\r\nContent-Type: application/x-www-form-urlencoded\r\n\r\n"
            b"smk=1234")
REQ1 = (b"GET /a/./b/../c//d%41%u0042e%2fg?q=%41+1&r=/./x HTTP/1.1\r\nHost: Example.COM:8080\r\n"
        b"User-Agent: Mozilla/4.0\r\nCookie: a=1\r\nX-Dup: one\r\nX-Dup: two\r\nX-Fold: v1\r\n"
        b"  v2\r\nX-Sp:   padded   \r\n\r\n")


def chunked(body: bytes, size: int = 5) -> bytes:
    out = b"".join(b"%x;ext=1\r\n%s\r\n" % (len(body[i:i + size]), body[i:i + size])
                   for i in range(0, len(body), size))
    return out + b"0\r\nTrailer: t\r\n\r\n"


def feed_all(parser, parts, split=None):
    """parts: (to_server, bytes) in wire order; split=1 feeds byte by byte."""
    events = []
    for to_server, data in parts:
        step = split or len(data)
        for i in range(0, len(data), step):
            events += parser.feed(data[i:i + step], to_server, 1.0)
    return events


def test_lab_request_buffers():
    p = HttpParser()
    events = p.feed(LAB_POST, True, 1.0)
    assert [e.kind for e in events] == [REQUEST_HEADERS, REQUEST_DONE]
    tx = events[0].tx
    assert tx.get("http_method", True) == b"POST" and tx.get("http_uri", True) == b"/"
    assert tx.get("http_client_body", True) == b"smk=1234"
    assert tx.field("User-Agent", True) == b"Mozilla/4.0"
    assert tx.get("http_header", True).startswith(b"Host: 10.0.0.2\r\nUser-Agent: Mozilla/4.0\r\n")
    assert tx.get("http_raw_header", True).endswith(b"urlencoded\r\n\r\n")
    assert tx.get("file_data", True) == b"smk=1234"        # file_data to server = request body


def test_header_normalisation_like_suricata():
    tx = HttpParser().feed(REQ1, True, 1.0)[0].tx
    hdr = tx.get("http_header", True)
    assert b"Cookie" not in hdr                            # cookies only in http_cookie
    assert b"X-Dup: one, two\r\n" in hdr                   # repeated headers merged
    assert b"X-Fold: v1  v2\r\n" in hdr                    # folded line appended as is
    assert b"X-Sp: padded\r\n" in hdr                      # value trimmed
    assert hdr.startswith(b"Host: Example.COM:8080\r\n") and not hdr.endswith(b"\r\n\r\n")
    raw = tx.get("http_raw_header", True)
    assert raw.startswith(b"Host") and b"Cookie: a=1" in raw and raw.endswith(b"\r\n\r\n")
    assert b"X-Fold: v1\r\n  v2" in raw
    assert tx.get("http_cookie", True) == b"a=1"
    assert tx.get("http_uri", True) == b"/a/c/dABe/g?q=A+1&r=/./x"
    assert tx.get("http_raw_uri", True) == b"/a/./b/../c//d%41%u0042e%2fg?q=%41+1&r=/./x"
    assert tx.request.header_fields["x-dup"] == b"one, two"


def test_response_chunked_gzip_into_file_data():
    body = b"hello world body " * 50
    resp = (b"HTTP/1.1 200 OK\r\nSet-Cookie: s=2\r\nContent-Encoding: gzip\r\n"
            b"Transfer-Encoding: chunked\r\n\r\n" + chunked(gzip.compress(body), 64))
    p = HttpParser()
    events = feed_all(p, [(True, b"GET / HTTP/1.1\r\n\r\n"), (False, resp)])
    kinds = [e.kind for e in events]
    assert kinds == [REQUEST_HEADERS, REQUEST_DONE, RESPONSE_HEADERS, RESPONSE_DONE]
    tx = events[-1].tx
    assert tx.get("file_data", False) == body
    assert tx.get("http_stat_code", True) == b"200" and tx.get("http_stat_msg", False) == b"OK"
    assert tx.get("http_cookie", False) == b"s=2"
    assert b"Set-Cookie" not in tx.get("http_header", False)
    assert tx.get("http_header", True) == b""              # the request had no headers


@pytest.mark.parametrize("wrap", [zlib.compress, lambda d: zlib.compress(d)[2:-4]],
                         ids=["zlib", "raw-deflate"])
def test_deflate_both_forms(wrap):
    body = b"deflated content"
    z = wrap(body)
    resp = b"HTTP/1.1 200 OK\r\nContent-Encoding: deflate\r\nContent-Length: %d\r\n\r\n" % len(z)
    events = feed_all(HttpParser(), [(True, b"GET / HTTP/1.1\r\n\r\n"), (False, resp + z)])
    assert events[-1].tx.get("file_data", False) == body


def test_bad_gzip_passes_through():
    resp = b"HTTP/1.1 200 OK\r\nContent-Encoding: gzip\r\nContent-Length: 5\r\n\r\nplain"
    events = feed_all(HttpParser(), [(True, b"GET / HTTP/1.1\r\n\r\n"), (False, resp)])
    assert events[-1].tx.get("file_data", False) == b"plain"


def test_chunked_request_body():
    req = b"POST /u HTTP/1.1\r\nTransfer-Encoding: chunked\r\n\r\n" + chunked(b"a=1&b=22", 3)
    events = HttpParser().feed(req, True, 1.0)
    assert events[-1].kind == REQUEST_DONE
    assert events[-1].tx.get("http_client_body", True) == b"a=1&b=22"


CONVERSATION = [
    (True, REQ1 + LAB_POST + b"HEAD /h HTTP/1.1\r\n\r\n"),          # pipelined
    (False, b"HTTP/1.1 200 OK\r\nContent-Length: 3\r\n\r\nabc"),
    (False, b"HTTP/1.1 100 Continue\r\n\r\nHTTP/1.1 201 Created\r\nTransfer-Encoding: chunked"
            b"\r\n\r\n" + chunked(b"created!")),
    (False, b"HTTP/1.1 200 OK\r\nContent-Length: 99\r\n\r\n"),        # HEAD: no body
    (True, b"GET /close HTTP/1.0\r\n\r\n"),
    (False, b"HTTP/1.0 200 OK\r\n\r\nuntil-close"),
]


def _summary(parser, events):
    events = events + parser.finish(2.0)
    txs = {}
    for e in events:
        txs[e.tx.tx_id] = e.tx
    return [(tx.get("http_method", True), tx.get("http_uri", True),
             tx.get("http_client_body", True), tx.get("http_stat_code", False),
             tx.get("file_data", False), tx.request.complete, tx.response.complete)
            for tx in txs.values()]


def test_pipelining_continue_head_and_close():
    p = HttpParser()
    summary = _summary(p, feed_all(p, CONVERSATION))
    assert summary == [
        (b"GET", b"/a/c/dABe/g?q=A+1&r=/./x", None, b"200", b"abc", True, True),
        (b"POST", b"/", b"smk=1234", b"201", b"created!", True, True),
        (b"HEAD", b"/h", None, b"200", None, True, True),
        (b"GET", b"/close", None, b"200", b"until-close", True, True),
    ]


def test_byte_by_byte_gives_the_same_buffers():
    whole, single = HttpParser(), HttpParser()
    a = _summary(whole, feed_all(whole, CONVERSATION))
    b = _summary(single, feed_all(single, CONVERSATION, split=1))
    assert a == b


def test_event_order_for_growing_bodies():
    p = HttpParser()
    events = p.feed(b"POST / HTTP/1.1\r\nContent-Length: 6\r\n\r\nab", True, 1.0)
    events += p.feed(b"cd", True, 1.0)
    events += p.feed(b"ef", True, 1.0)
    assert [e.kind for e in events] == [REQUEST_HEADERS, REQUEST_BODY, REQUEST_BODY, REQUEST_DONE]
    assert events[1].tx.get("http_client_body", True) == b"abcdef"


def test_interim_response_is_inspectable_until_replaced():
    p = HttpParser()
    p.feed(b"PUT /p HTTP/1.1\r\nExpect: 100-continue\r\nContent-Length: 1\r\n\r\n", True, 1.0)
    events = p.feed(b"HTTP/1.1 100 Continue\r\n\r\n", False, 1.0)
    assert [e.kind for e in events] == [RESPONSE_HEADERS]
    assert events[0].tx.get("http_stat_code", False) == b"100"
    p.feed(b"x", True, 1.0)
    events = p.feed(b"HTTP/1.1 204 No Content\r\n\r\n", False, 1.0)
    assert [e.kind for e in events] == [RESPONSE_HEADERS, RESPONSE_DONE]
    assert events[0].tx.get("http_stat_msg", False) == b"No Content"


def test_body_limits_truncate_but_keep_parsing():
    p = HttpParser(HttpLimits(request_body_limit=4, response_body_limit=3))
    events = p.feed(LAB_POST + b"GET /next HTTP/1.1\r\n\r\n", True, 1.0)
    tx = events[1].tx
    assert tx.get("http_client_body", True) == b"smk=" and tx.request.body_truncated
    assert events[-1].tx.get("http_uri", True) == b"/next"
    z = gzip.compress(b"A" * 10000)                        # bomb-ish: output capped
    resp = b"HTTP/1.1 200 OK\r\nContent-Encoding: gzip\r\nContent-Length: %d\r\n\r\n" % len(z)
    events = p.feed(resp + z, False, 1.0)
    assert events[-1].tx.get("file_data", False) == b"AAA"


def test_header_cap_stops_direction():
    p = HttpParser(HttpLimits(max_header_bytes=100))
    assert p.feed(b"GET / HTTP/1.1\r\n" + b"X: " + b"a" * 200, True, 1.0) == []
    assert p.failed_to_server
    assert p.feed(b"\r\n\r\nGET / HTTP/1.1\r\n\r\n", True, 1.0) == []


@pytest.mark.parametrize("junk", [b"\x16\x03\x01\x02\x00\x01\x00\x01\xfc\x03\x03\n",
                                  b"HELLO\r\n", b"\x00" * 70000])
def test_garbage_fails_the_direction_without_raising(junk):
    p = HttpParser()
    assert p.feed(junk, True, 1.0) == [] and p.failed_to_server
    p2 = HttpParser()
    p2.feed(b"GET / HTTP/1.1\r\n\r\n", True, 1.0)
    assert p2.feed(junk, False, 1.0) == [] and p2.failed_to_client


def test_connect_tunnel_stops_parsing():
    p = HttpParser()
    p.feed(b"CONNECT host:443 HTTP/1.1\r\n\r\n", True, 1.0)
    events = p.feed(b"HTTP/1.1 200 Connection established\r\n\r\n\x16\x03\x01", False, 1.0)
    assert [e.kind for e in events] == [RESPONSE_HEADERS, RESPONSE_DONE] and p.tunnel
    assert p.feed(b"\x16\x03\x01 GET / HTTP/1.1\r\n\r\n", True, 1.0) == []


def test_response_without_request_gets_its_own_transaction():
    events = HttpParser().feed(b"HTTP/1.1 404 NF\r\nContent-Length: 0\r\n\r\n", False, 1.0)
    tx = events[0].tx
    assert not tx.has_request and tx.get("http_stat_code", False) == b"404"
    assert tx.get("http_uri", True) is None


def test_http09_request():
    events = HttpParser().feed(b"GET /old\r\n", True, 1.0)
    assert [e.kind for e in events] == [REQUEST_HEADERS, REQUEST_DONE]
    assert events[0].tx.get("http_version", True) == b""


def test_gap_inside_a_body_is_skipped_and_parsing_goes_on():
    p = HttpParser()
    p.feed(b"GET /a HTTP/1.1\r\n\r\nGET /b HTTP/1.1\r\n\r\n", True, 1.0)
    p.feed(b"HTTP/1.1 200 OK\r\nContent-Length: 10\r\n\r\nabc", False, 1.0)
    events = p.gap(4, False)
    events += p.feed(b"hij" + b"HTTP/1.1 404 NF\r\nContent-Length: 0\r\n\r\n", False, 1.0)
    done = [e.tx for e in events if e.kind == RESPONSE_DONE]
    assert [tx.get("http_stat_code", False) for tx in done] == [b"200", b"404"]
    assert done[0].get("file_data", False) == b"abchij" and done[0].response.body_len == 10


def test_gap_in_headers_stops_the_direction():
    p = HttpParser()
    p.feed(b"GET /a HTTP/1.1\r\nHo", True, 1.0)
    assert p.gap(10, True) == [] and p.failed_to_server


def test_no_body_events_past_the_limit():
    p = HttpParser(HttpLimits(response_body_limit=4))
    p.feed(b"GET / HTTP/1.1\r\n\r\n", True, 1.0)
    events = p.feed(b"HTTP/1.1 200 OK\r\nContent-Length: 12\r\n\r\nabc", False, 1.0)
    events += p.feed(b"defg", False, 1.0)
    events += p.feed(b"hi", False, 1.0)
    assert [e.kind for e in events] == [RESPONSE_HEADERS, RESPONSE_BODY, RESPONSE_BODY]
    events = p.feed(b"jkl", False, 1.0)
    assert [e.kind for e in events] == [RESPONSE_DONE]
    assert events[0].tx.get("file_data", False) == b"abcd" and events[0].tx.response.body_truncated


def test_field_and_param_lookups():
    p = HttpParser()
    tx = p.feed(LAB_POST.replace(b"POST / ", b"POST /f?a=1&Name=x%41+y "), True, 1.0)[-1].tx
    assert tx.get("http_header", True, field="user-agent") == b"Mozilla/4.0"
    assert tx.get("http_param", True, field="name") == b"xA y"
    assert tx.get("http_param", True, field="smk") == b"1234"         # url-encoded body
    assert tx.get("http_param", True, field="missing") is None


def test_chunked_trailer_joins_the_headers_like_libhtp():
    # Suricata 7: a chunked response's raw header buffer ends with the trailer section.
    p = HttpParser()
    p.feed(b"GET / HTTP/1.1\r\n\r\n", True, 1.0)
    events = p.feed(b"HTTP/1.1 200 OK\r\nTransfer-Encoding: chunked\r\nX-A: b\r\n\r\n"
                    b"5\r\nhello\r\n0\r\nX-T: t\r\n\r\n", False, 1.0)
    tx = events[-1].tx
    assert tx.get("http_raw_header", False).endswith(b"X-A: b\r\n\r\nX-T: t\r\n\r\n")
    assert tx.get("http_header", False).endswith(b"X-A: b\r\nX-T: t\r\n")
    assert tx.get("file_data", False) == b"hello"
