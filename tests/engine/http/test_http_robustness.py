"""Hostile input: random bytes, random splits and mutated messages never raise, never grow
memory past the limits."""

from __future__ import annotations

import random

from dpictl.engine.http import HttpLimits, HttpParser

SEED_MESSAGES = [
    b"POST /a?b=c HTTP/1.1\r\nHost: x\r\nTransfer-Encoding: chunked\r\nCookie: a\r\n\r\n"
    b"3\r\nabc\r\n0\r\n\r\n",
    b"GET / HTTP/1.1\r\nContent-Length: 5\r\n\r\nhello",
    b"HTTP/1.1 200 OK\r\nContent-Encoding: gzip\r\nContent-Length: 4\r\n\r\n\x1f\x8b\x08\x00",
    b"HTTP/1.1 100 Continue\r\n\r\nHTTP/1.1 204 No\r\n\r\n",
]


def _mutate(rng: random.Random, data: bytes) -> bytes:
    buf = bytearray(data)
    for _ in range(rng.randint(1, 6)):
        op = rng.randint(0, 2)
        pos = rng.randrange(len(buf) + 1)
        if op == 0 and buf:
            del buf[pos:pos + rng.randint(1, 4)]
        elif op == 1:
            buf[pos:pos] = bytes(rng.randrange(256) for _ in range(rng.randint(1, 4)))
        else:
            buf[pos:pos] = rng.choice([b"\r\n", b"\n", b":", b" ", b"0\r\n", b"ffffffff\r\n"])
    return bytes(buf)


def test_random_and_mutated_input_never_raises():
    rng = random.Random(1234)
    limits = HttpLimits(max_header_bytes=2048, request_body_limit=512, response_body_limit=512)
    for _ in range(400):
        parser = HttpParser(limits)
        for _ in range(rng.randint(1, 6)):
            to_server = rng.random() < 0.5
            if rng.random() < 0.3:
                data = bytes(rng.randrange(256) for _ in range(rng.randint(1, 300)))
            else:
                data = _mutate(rng, rng.choice(SEED_MESSAGES))
            pos = 0
            while pos < len(data):
                step = rng.randint(1, 40)
                for event in parser.feed(data[pos:pos + step], to_server, 1.0):
                    for name in ("http_client_body", "file_data", "http_raw_header"):
                        value = event.tx.get(name, event.to_server) or b""
                        assert len(value) <= 4096
                pos += step
            if rng.random() < 0.2:
                parser.gap(rng.randint(1, 50), to_server)
            for side in (parser._req, parser._resp):
                assert len(side.buf) <= limits.max_header_bytes + 40
        parser.finish(2.0)
