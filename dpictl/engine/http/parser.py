"""Incremental HTTP/1.x parser: in-order stream bytes of both directions in, events out.

(Over 300 lines: one state machine for both directions reads better whole than split.)

One `HttpParser` per flow. It is fed the reassembled bytes of each direction as they become
available, in any split (one byte at a time gives the same buffers as one big chunk). It pairs
responses with requests in order (pipelining), skips interim 1xx responses (their buffers are
inspectable until the final response replaces them, as in Suricata), knows that HEAD, 204 and
304 responses have no body, reads bodies by Content-Length, chunked coding or until the
connection closes, stops at a protocol switch (101, CONNECT), and never buffers more than the
configured limits: a header block larger than `max_header_bytes` or a line that is not HTTP
stops parsing of that direction (`failed_to_server` / `failed_to_client`).
"""

from __future__ import annotations

from collections import deque
from dataclasses import dataclass

from dpictl.engine.http.body import CHUNKED, CLOSE, LENGTH, BodyReader, content_decoder
from dpictl.engine.http.headers import field_map, header_buffer, parse_header_block
from dpictl.engine.http.transaction import (
    REQUEST_BODY, REQUEST_DONE, REQUEST_HEADERS, RESPONSE_BODY, RESPONSE_DONE,
    RESPONSE_HEADERS, HttpEvent, HttpTransaction,
)
from dpictl.engine.http.uri import normalize_uri

_LINE, _HEADERS, _BODY, _STOP = range(4)
_TOKEN = frozenset(b"!#$%&'*+-.^_`|~0123456789abcdefghijklmnopqrstuvwxyzABCDEFGHIJKLMNOPQRSTUVWXYZ")


@dataclass(frozen=True, slots=True)
class HttpLimits:
    """Memory bounds. Body limits are Suricata's (oracle config: 100 KiB each way)."""

    max_header_bytes: int = 64 * 1024       # start line + header block
    request_body_limit: int = 100 * 1024
    response_body_limit: int = 100 * 1024
    max_pending: int = 64                   # requests waiting for their response


class _Side:
    """Parsing state of one direction."""

    __slots__ = ("buf", "state", "scan", "tx", "reader", "decoder", "body", "decoded", "failed",
                 "gapped")

    def __init__(self) -> None:
        self.buf = bytearray()
        self.state = _LINE
        self.scan = 0
        self.tx: HttpTransaction | None = None
        self.reader: BodyReader | None = None
        self.decoder = None
        self.body = bytearray()
        self.decoded = bytearray()
        self.failed = False
        self.gapped = False             # bytes of this body were lost: stop decompressing


class HttpParser:
    """HTTP/1.x request and response parser for one connection."""

    def __init__(self, limits: HttpLimits | None = None) -> None:
        self.limits = limits or HttpLimits()
        self.tunnel = False
        self.tx_count = 0
        self._req = _Side()
        self._resp = _Side()
        self._pending: deque[HttpTransaction] = deque()

    @property
    def failed_to_server(self) -> bool:
        return self._req.failed

    @property
    def failed_to_client(self) -> bool:
        return self._resp.failed

    def feed(self, data: bytes, to_server: bool, ts: float) -> list[HttpEvent]:
        """Parse the next in-order bytes of one direction; return what became inspectable."""
        side = self._req if to_server else self._resp
        if side.state == _STOP or not data:
            return []
        side.buf += data
        events: list[HttpEvent] = []
        while True:
            state = side.state
            if state == _LINE:
                progressed = self._start_line(side, to_server, ts, events)
            elif state == _HEADERS:
                progressed = self._headers(side, to_server, events)
            elif state == _BODY:
                progressed = self._body(side, to_server, events)
            else:
                side.buf.clear()
                break
            if not progressed:
                break
        return events

    def gap(self, size: int, to_server: bool) -> list[HttpEvent]:
        """`size` bytes of one direction were lost (a reassembly hole).

        Inside a body whose length is known the loss is accounted for and parsing goes on
        after it (as libhtp does); a compressed body stops growing in `file_data`. A hole
        anywhere else leaves the parser unable to find the next message: that direction stops.
        """
        side = self._req if to_server else self._resp
        if side.state == _STOP or size <= 0:
            return []
        events: list[HttpEvent] = []
        reader = side.reader
        if side.state == _BODY and not side.buf and reader.skip(size):
            msg = side.tx.request if to_server else side.tx.response
            msg.body_len += size
            side.gapped = True
            if reader.done:
                self._complete(side, to_server, events)
            return events
        self._fail(side)
        return events

    def finish(self, ts: float, to_server: bool | None = None) -> list[HttpEvent]:
        """The direction (both when None) ended: complete the message whose body was open."""
        events: list[HttpEvent] = []
        for direction in ((True, False) if to_server is None else (to_server,)):
            side = self._req if direction else self._resp
            if side.state == _BODY and side.tx is not None:
                self._complete(side, direction, events)
            side.state = _STOP
        return events

    # -- start line ------------------------------------------------------------------------

    def _start_line(self, side: _Side, to_server: bool, ts: float,
                    events: list[HttpEvent]) -> bool:
        buf = side.buf
        skip = 0
        while skip < len(buf) and buf[skip] in (10, 13):
            skip += 1
        if skip:
            del buf[:skip]
        nl = buf.find(b"\n")
        if nl < 0:
            if len(buf) > self.limits.max_header_bytes:
                self._fail(side)
            return False
        line = bytes(buf[:nl]).rstrip(b"\r")
        del buf[:nl + 1]
        if to_server:
            return self._request_line(side, line, ts, events)
        return self._status_line(side, line, ts)

    def _request_line(self, side: _Side, line: bytes, ts: float,
                      events: list[HttpEvent]) -> bool:
        parts = line.split()
        if len(parts) < 2 or not _TOKEN.issuperset(parts[0]):
            self._fail(side)
            return False
        if len(parts) >= 3 and parts[-1][:5].upper() == b"HTTP/":
            uri, version = b" ".join(parts[1:-1]), parts[-1]
        else:
            uri, version = b" ".join(parts[1:]), b""
        tx = self._new_tx(ts, True)
        self._pending.append(tx)
        if len(self._pending) > self.limits.max_pending:
            self._pending.popleft()
        b = tx.request.buffers
        b["http_method"] = parts[0]
        b["http_raw_uri"] = uri
        b["http_uri"] = normalize_uri(uri)
        b["http_version"] = version
        b["http_raw_request"] = line
        side.tx = tx
        if not version:                      # HTTP/0.9: no headers, no body
            tx.request.headers_complete = tx.request.complete = True
            events.append(HttpEvent(REQUEST_HEADERS, tx, True))
            events.append(HttpEvent(REQUEST_DONE, tx, True))
            side.tx = None
            return True
        side.state, side.scan = _HEADERS, 0
        return True

    def _status_line(self, side: _Side, line: bytes, ts: float) -> bool:
        if line[:5].upper() != b"HTTP/":
            self._fail(side)
            return False
        parts = line.split(None, 2)
        tx = side.tx if side.tx is not None and side.tx.response.interim else None
        if tx is None:
            tx = self._pending.popleft() if self._pending else self._new_tx(ts, False)
        msg = tx.response
        msg.ts, msg.interim = ts, False
        msg.buffers = {
            "http_version": parts[0],
            "http_stat_code": parts[1] if len(parts) > 1 else b"",
            "http_stat_msg": parts[2].strip() if len(parts) > 2 else b"",
            "http_raw_status": line,
        }
        side.tx = tx
        side.state, side.scan = _HEADERS, 0
        return True

    # -- headers ---------------------------------------------------------------------------

    def _headers(self, side: _Side, to_server: bool, events: list[HttpEvent]) -> bool:
        buf = side.buf
        if buf[:1] == b"\n":
            end = 1
        elif buf[:2] == b"\r\n":
            end = 2
        else:
            start = max(side.scan - 3, 0)
            crlf, lf = buf.find(b"\n\r\n", start), buf.find(b"\n\n", start)
            if crlf < 0 and lf < 0:
                if len(buf) == 1 and buf[0] == 13:
                    return False
                side.scan = len(buf)
                if len(buf) > self.limits.max_header_bytes:
                    self._fail(side)
                return False
            if lf < 0 or 0 <= crlf < lf:
                end = crlf + 3
            else:
                end = lf + 2
        raw = bytes(buf[:end])
        del buf[:end]
        tx = side.tx
        msg = tx.request if to_server else tx.response
        fields = parse_header_block(raw)
        msg.fields = fields
        msg.header_fields = hf = field_map(fields)
        b = msg.buffers
        b["http_raw_header"] = raw
        b["http_header"] = header_buffer(fields, b"cookie" if to_server else b"set-cookie")
        cookie = hf.get("cookie" if to_server else "set-cookie")
        if cookie is not None:
            b["http_cookie"] = b["http_raw_cookie"] = cookie
        if to_server:
            true_ip = hf.get("x-forwarded-for") or hf.get("true-client-ip")
            if true_ip is not None:
                b["http_true_ip"] = true_ip
        msg.headers_complete = True
        events.append(HttpEvent(REQUEST_HEADERS if to_server else RESPONSE_HEADERS, tx, to_server))
        reader = self._framing(tx, to_server, hf)
        if reader is None:
            if not to_server and msg.interim:
                side.state = _LINE               # the final response follows
                return True
            self._complete(side, to_server, events)
            return True
        side.reader = reader
        side.decoder = None if to_server else content_decoder(hf.get("content-encoding"))
        side.body, side.decoded = bytearray(), bytearray()
        side.state = _BODY
        return True

    def _framing(self, tx: HttpTransaction, to_server: bool,
                 hf: dict[str, bytes]) -> BodyReader | None:
        """How the body of this message is delimited; None when it has none."""
        if not to_server:
            code = _status_code(tx.response.buffers["http_stat_code"])
            if 100 <= code < 200 and code != 101:
                tx.response.interim = True
                return None
            if code == 101 or (tx.method.upper() == b"CONNECT" and 200 <= code < 300):
                self.tunnel = True
                return None
            if tx.method.upper() == b"HEAD" or code in (204, 304):
                return None
        if b"chunked" in hf.get("transfer-encoding", b"").lower():
            return BodyReader(CHUNKED)
        length = _content_length(hf.get("content-length"))
        if length is not None:
            return BodyReader(LENGTH, length) if length > 0 else None
        return None if to_server else BodyReader(CLOSE)

    # -- body ------------------------------------------------------------------------------

    def _body(self, side: _Side, to_server: bool, events: list[HttpEvent]) -> bool:
        reader = side.reader
        chunk = reader.consume(side.buf)
        tx = side.tx
        grew = False
        if chunk:
            msg = tx.request if to_server else tx.response
            msg.body_len += len(chunk)
            limit = self.limits.request_body_limit if to_server else \
                self.limits.response_body_limit
            room = limit - len(side.body)
            if room > 0:
                side.body += chunk[:room]
                grew = True
            if side.decoder is not None and not side.gapped:
                room = limit - len(side.decoded)
                if room > 0:
                    out = side.decoder.feed(chunk, room)
                    if out:
                        side.decoded += out
                        grew = True
            if msg.body_len > limit:
                msg.body_truncated = True
            if grew:                         # past the limits nothing changes: no copy, no event
                self._set_body_buffers(side, to_server)
        if reader.done:
            if reader.trailer:
                self._add_trailer(tx, to_server, reader.trailer)
            self._complete(side, to_server, events)
            return True
        if grew:
            events.append(HttpEvent(REQUEST_BODY if to_server else RESPONSE_BODY, tx, to_server))
        return False

    @staticmethod
    def _add_trailer(tx: HttpTransaction, to_server: bool, trailer: bytes) -> None:
        """Chunked trailers join the headers, as in libhtp: the raw block grows by the trailer
        section (its empty line included) and trailer fields join the normalised headers."""
        msg = tx.request if to_server else tx.response
        b = msg.buffers
        b["http_raw_header"] = b.get("http_raw_header", b"") + trailer
        extra = parse_header_block(trailer)
        if extra:
            msg.fields = msg.fields + extra
            msg.header_fields.update(field_map(extra))
            b["http_header"] = header_buffer(msg.fields, b"cookie" if to_server else b"set-cookie")

    def _set_body_buffers(self, side: _Side, to_server: bool) -> None:
        tx = side.tx
        body = bytes(side.body)
        if to_server:
            b = tx.request.buffers
            b["http_client_body"] = b["http_raw_body"] = b["file_data"] = body
        else:
            b = tx.response.buffers
            b["http_raw_body"] = body
            b["file_data"] = bytes(side.decoded) if side.decoder is not None else body

    def _complete(self, side: _Side, to_server: bool, events: list[HttpEvent]) -> None:
        tx = side.tx
        (tx.request if to_server else tx.response).complete = True
        events.append(HttpEvent(REQUEST_DONE if to_server else RESPONSE_DONE, tx, to_server))
        side.tx, side.reader, side.decoder = None, None, None
        side.body, side.decoded = bytearray(), bytearray()
        side.gapped = False
        if self.tunnel:
            self._req.state = self._resp.state = _STOP
        else:
            side.state = _LINE

    # -- helpers ---------------------------------------------------------------------------

    def _new_tx(self, ts: float, has_request: bool) -> HttpTransaction:
        tx = HttpTransaction(self.tx_count, ts, has_request)
        self.tx_count += 1
        return tx

    @staticmethod
    def _fail(side: _Side) -> None:
        side.failed = True
        side.state = _STOP
        side.buf.clear()


def _status_code(code: bytes) -> int:
    return int(code) if code.isdigit() and len(code) <= 3 else 0


def _content_length(value: bytes | None) -> int | None:
    if value is None:
        return None
    first = value.split(b",", 1)[0].strip()
    return int(first) if first.isdigit() else None


__all__ = ["HttpParser", "HttpLimits"]
