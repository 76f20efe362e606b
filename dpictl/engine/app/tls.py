"""TLS/SSL record and handshake parser: the state `ssl_state` and `ssl_version` read.

It follows Suricata 7's parser (app-layer-ssl.c), the oracle, where rule semantics hang on
its details (each checked against Suricata 7.0.10 with crafted sessions, see
tests/engine/tls):

- Data of a direction is parsed when the peer *acknowledges* it (Suricata's IDS mode), so
  the state a rule sees on a packet is the state after that packet's ACK was processed.
  `queue()` holds segments with the sequence number they end at; `ack()` parses them.
- `current` holds the state flag of the last handshake message parsed (ClientHello,
  ServerHello, ServerKeyExchange, ClientKeyExchange): a record carrying ServerHello,
  Certificate and ServerKeyExchange leaves SERVER_KEYX. It is cleared when a parse call
  starts on a record boundary, and shared by both directions.
- SSLv3/TLS records are parsed only once complete (a handshake message split across
  records is joined first); SSLv2 records as they come.
- Each direction's version is the record header's until a hello was seen, then the
  hello's `version` field, then the supported_versions extension (the client's first
  entry, the server's choice). An SSLv2 record gives SSLv2; an SSLv2 CLIENT-HELLO then
  gives the version it advertises (0x0002 is not SSLv2's 0x0200: `ssl_version:sslv2`
  does not match it, as in Suricata 7.0.10).
- Once application data is seen the handshake is over and, as Suricata does by default
  (`encryption-handling: default`), the flow's payload is no longer inspected.

Written by hand rather than with a TLS library: libraries parse to validate or decrypt,
while this needs Suricata's exact, forgiving state updates on partial records.
"""

from __future__ import annotations

CLIENT_HELLO, SERVER_HELLO, CLIENT_KEYX, SERVER_KEYX, UNKNOWN = 1, 2, 4, 8, 16
_SSL2_CLIENT_HS, _SSL2_SERVER_HS, _SSL2_MASTER_KEY = 1 << 8, 1 << 9, 1 << 10
_SSL2_CLIENT_ENC, _SSL2_SERVER_ENC, _SSL2_NO_SESSION_ID = 1 << 11, 1 << 12, 1 << 13
_CCS, _EARLY_DATA, _CH_VERSION_EXT, _LOG_WITHOUT_CERT = 1 << 16, 1 << 17, 1 << 18, 1 << 19

SSL2, SSL3, TLS10, TLS11, TLS12, TLS13 = 0x0200, 0x0300, 0x0301, 0x0302, 0x0303, 0x0304
TLS13_PRE_DRAFT16 = 0x7f00     # a hello `version` of 0x0304 or 0x7f01-0x7f0f (early drafts)

_HS_TYPES = frozenset({0, 1, 2, 4, 11, 12, 13, 14, 15, 16, 20, 21, 22})
_MAX_MESSAGE = 1 << 18          # a handshake message longer than this is skipped, not joined
# bytes held for an ACK that never comes (one-way captures) before they are parsed anyway,
# as the engine does for raw-stream chunks (stream_state.UNACKED_LIMIT)
_MAX_QUEUED = 64 * 1024
_MASK, _HALF = 0xFFFFFFFF, 1 << 31


class _Side:
    """One direction: bytes waiting for an ACK, the record being assembled, the version."""

    __slots__ = ("queued", "queued_bytes", "buf", "hs_buf", "version", "sni", "chunk_trigger",
                 "broken")

    def __init__(self) -> None:
        self.queued: list[tuple[int | None, bytes | None]] = []   # (end seq, data); None: gap
        self.queued_bytes = 0
        self.buf = b""            # bytes of the record not parsed yet (from its header on)
        self.hs_buf = b""         # a handshake message continued in the next record
        self.version = 0
        self.sni: bytes | None = None
        self.chunk_trigger = False        # a record completed since the last inspection
        self.broken = False               # a gap or a parse error: no more parsing


class TlsState:
    """The TLS state of one flow (Suricata's single TLS transaction)."""

    __slots__ = ("sides", "current", "flags", "no_inspection", "alerted", "started", "updated")

    def __init__(self) -> None:
        self.sides = (_Side(), _Side())      # index: to_server
        self.current = 0
        self.flags = 0
        self.no_inspection = False
        self.alerted: set[tuple[int, bool]] = set()   # (signature order, direction)
        self.started = False                  # any acknowledged byte parsed yet
        # per direction (index: to_server): the parser ran since that direction's rules
        # last looked (Suricata 7 inspects a transaction only when it was updated)
        self.updated = [False, False]

    # -- input ------------------------------------------------------------------------
    def queue(self, to_server: bool, data: bytes, end_seq: int | None) -> None:
        """In-order bytes of one direction, ending at `end_seq` (None: parse at next ACK)."""
        if data:
            side = self.sides[to_server]
            side.queued.append((end_seq, data))
            side.queued_bytes += len(data)
            if side.queued_bytes > _MAX_QUEUED:
                self.ack(to_server, None)

    def gap(self, to_server: bool) -> None:
        """Bytes were lost here: this direction is not parsed past it."""
        self.sides[to_server].queued.append((None, None))

    def ack(self, to_server: bool, ack: int | None) -> None:
        """The peer acknowledged `to_server`'s bytes up to `ack` (None: everything)."""
        side = self.sides[to_server]
        if not side.queued:
            return
        take = 0
        for end_seq, _ in side.queued:
            if ack is not None and end_seq is not None and ((ack - end_seq) & _MASK) >= _HALF:
                break
            take += 1
        if not take:
            return
        parts, side.queued = side.queued[:take], side.queued[take:]
        side.queued_bytes = sum(len(d) for _, d in side.queued if d is not None)
        data = []
        for _, piece in parts:
            if piece is None:
                side.broken = True
                break
            data.append(piece)
        if data:
            self.started = True
            joined = b"".join(data)
            if not side.broken:
                if self._invokes_parser(side, joined):
                    self.updated = [True, True]
                self._decode(to_server, joined)

    def pop_chunk_trigger(self, to_server: bool) -> bool:
        """A record of this direction completed since the last call (Suricata then has the
        direction's raw stream inspected: AppLayerParserTriggerRawStreamReassembly)."""
        side = self.sides[to_server]
        hit, side.chunk_trigger = side.chunk_trigger, False
        return hit

    @staticmethod
    def _invokes_parser(side: _Side, data: bytes) -> bool:
        """Whether Suricata calls its parser for these bytes: after reading a record's
        header it asks for the whole record (APP_LAYER_INCOMPLETE) and is not called again
        until the record is complete; SSLv2 records are parsed as they come."""
        buf = side.buf
        if len(buf) < 5 or buf[0] & 0xC0:
            return True
        return len(buf) + len(data) >= 5 + (buf[3] << 8 | buf[4])

    def version(self, to_server: bool) -> int:
        return self.sides[to_server].version

    # -- records ----------------------------------------------------------------------
    def _decode(self, to_server: bool, data: bytes) -> None:
        side = self.sides[to_server]
        if not side.buf:
            self.current = 0                  # a parse starting on a record boundary
        buf = side.buf + data
        pos = 0
        while pos < len(buf) and not side.broken:
            first = buf[pos]
            if first & 0xC0:
                side.version = SSL2
                used = self._sslv2(to_server, buf, pos)
            else:
                if side.version == SSL2:
                    side.version = 0
                used = self._record(to_server, buf, pos)
            if used == 0:
                break                         # an incomplete record: wait for more
            pos += used
        side.buf = buf[pos:] if not side.broken else b""

    def _record(self, to_server: bool, buf: bytes, pos: int) -> int:
        side = self.sides[to_server]
        if len(buf) - pos < 5:
            return 0
        ctype, length = buf[pos], buf[pos + 3] << 8 | buf[pos + 4]
        if not self._skip_version(to_server):
            side.version = buf[pos + 1] << 8 | buf[pos + 2]
        if len(buf) - pos - 5 < length:
            return 0
        body = buf[pos + 5:pos + 5 + length]
        if length == 0:
            return 5
        if ctype == 20:
            self.flags |= _CCS
        elif ctype == 23:
            if not (self.flags & _EARLY_DATA and not self.flags & SERVER_HELLO):
                self.no_inspection = True
        elif ctype == 22:
            if self.flags & _CCS and not self._tls13_middlebox_ccs():
                pass                          # encrypted handshake (Finished)
            elif length < 4 or not self._handshake(to_server, body):
                side.broken = True
                return 0
        elif ctype not in (21, 24):
            side.broken = True                # not a TLS record type: the parser stops
            return 0
        side.chunk_trigger = True
        return 5 + length

    def _tls13_middlebox_ccs(self) -> bool:
        """TLS 1.3 sends ChangeCipherSpec for middleboxes only: handshakes still parse
        while a TLS 1.3 client hello waits for the server's."""
        return (bool(self.flags & CLIENT_HELLO) and not self.flags & SERVER_HELLO
                and self.sides[True].version > TLS12)

    def _skip_version(self, to_server: bool) -> bool:
        """The record header's version no longer counts once the side's hello was seen."""
        flag = CLIENT_HELLO if to_server else SERVER_HELLO
        return bool(self.flags & flag) and self.sides[to_server].version != 0

    def _handshake(self, to_server: bool, body: bytes) -> bool:
        side = self.sides[to_server]
        if side.hs_buf:
            body = side.hs_buf + body
            side.hs_buf = b""
        pos = 0
        while pos < len(body):
            if len(body) - pos < 4:
                return False
            mtype = body[pos]
            mlen = int.from_bytes(body[pos + 1:pos + 4], "big")
            pos += 4
            if mtype not in _HS_TYPES:
                pos += min(mlen, len(body) - pos)
                continue
            if mlen > len(body) - pos:
                if mlen < _MAX_MESSAGE:
                    side.hs_buf = body[pos - 4:]
                return True
            self._message(to_server, mtype, body[pos:pos + mlen])
            pos += mlen
        return True

    def _message(self, to_server: bool, mtype: int, msg: bytes) -> None:
        if mtype == 1:
            self.current = CLIENT_HELLO
            _Hello(self, to_server, msg).parse()
        elif mtype == 2:
            self.current = SERVER_HELLO
            _Hello(self, to_server, msg).parse()
        elif mtype == 12:
            self.current = SERVER_KEYX
        elif mtype == 16:
            self.current = CLIENT_KEYX
        self.flags |= self.current

    def _sslv2(self, to_server: bool, buf: bytes, pos: int) -> int:
        """One SSLv2 record (2- or 3-byte header, then the message type)."""
        two = bool(buf[pos] & 0x80)
        hlen = 2 if two else 3
        if len(buf) - pos < hlen + 1:
            return 0
        length = ((buf[pos] & (0x7F if two else 0x3F)) << 8) | buf[pos + 1]
        if length == 0:
            self.sides[to_server].broken = True
            return 0
        if len(buf) - pos < hlen + length:
            return 0
        mtype = buf[pos + hlen]
        msg = buf[pos + hlen + 1:pos + hlen + length]
        side, cur = self.sides[to_server], self.current
        if mtype == 1:
            cur = CLIENT_HELLO | _SSL2_CLIENT_HS
            if len(msg) >= 6:
                side.version = msg[0] << 8 | msg[1]
                if msg[4] << 8 | msg[5] == 0:
                    cur |= _SSL2_NO_SESSION_ID
        elif mtype == 4:
            cur = SERVER_HELLO | _SSL2_SERVER_HS
        elif mtype == 2:
            cur = _SSL2_MASTER_KEY
        elif mtype in (3, 5, 6, 7, 8):
            if mtype == 8 and to_server:
                cur = CLIENT_KEYX
            if self.flags & _SSL2_CLIENT_HS and self.flags & _SSL2_SERVER_HS:
                if not to_server:
                    cur = _SSL2_SERVER_ENC
                elif self.flags & _SSL2_NO_SESSION_ID:
                    cur |= _SSL2_CLIENT_ENC
                elif self.flags & _SSL2_MASTER_KEY:
                    cur = _SSL2_CLIENT_ENC
        self.current = cur
        self.flags |= cur
        if self.flags & _SSL2_CLIENT_ENC and self.flags & _SSL2_SERVER_ENC:
            self.no_inspection = True
        return hlen + length


class _Hello:
    """ClientHello / ServerHello fields that change the state: version, SNI, extensions.
    A malformed hello stops here, keeping what was read (Suricata does the same)."""

    __slots__ = ("tls", "side", "msg", "pos", "server")

    def __init__(self, tls: TlsState, to_server: bool, msg: bytes) -> None:
        self.tls, self.side, self.msg, self.pos = tls, tls.sides[to_server], msg, 0
        self.server = not to_server

    def _take(self, n: int) -> bytes | None:
        if len(self.msg) - self.pos < n:
            return None
        out = self.msg[self.pos:self.pos + n]
        self.pos += n
        return out

    def parse(self) -> None:
        tls, side = self.tls, self.side
        raw = self._take(2)
        if raw is None:
            return
        version = raw[0] << 8 | raw[1]
        side.version = version
        if self.server and (version == TLS13 or version >> 8 == 0x7F):
            tls.flags |= _LOG_WITHOUT_CERT
        if version == TLS13 or 0x7F01 <= version < 0x7F10:
            side.version = TLS13_PRE_DRAFT16
        if self._take(32) is None:
            return
        short_server = self.server and tls.flags & _LOG_WITHOUT_CERT
        if not short_server and not self._vector(1):
            return
        if self.server:
            if self._take(2) is None:
                return
        elif not self._vector(2):
            return
        if not short_server and not self._vector(1):
            return
        self._extensions()

    def _vector(self, size_len: int) -> bool:
        raw = self._take(size_len)
        return raw is not None and self._take(int.from_bytes(raw, "big")) is not None

    def _extensions(self) -> None:
        raw = self._take(2)
        if raw is None:
            return
        end = self.pos + (raw[0] << 8 | raw[1])
        if end > len(self.msg):
            return
        while self.pos + 4 <= end:
            head = self._take(4)
            etype, elen = head[0] << 8 | head[1], head[2] << 8 | head[3]
            body = self._take(elen)
            if body is None:
                return
            if etype == 0 and body and self.side.sni is None and len(body) >= 5:
                size = body[3] << 8 | body[4]
                if body[2] == 0 and 0 < size <= 255 and len(body) >= 5 + size:
                    self.side.sni = body[5:5 + size]
            elif etype == 43 and body:
                self._supported_versions(body)
            elif etype == 42 and not self.server:
                self.tls.flags |= _EARLY_DATA

    def _supported_versions(self, body: bytes) -> None:
        if not self.server:
            if body[0] >= 2 and len(body) >= 1 + body[0]:
                self.side.version = body[1] << 8 | body[2]
                self.tls.flags |= _CH_VERSION_EXT
        elif len(body) >= 2:
            self.side.version = body[0] << 8 | body[1]
            if self.tls.flags & _CH_VERSION_EXT and self.side.version > TLS12:
                self.tls.flags |= _LOG_WITHOUT_CERT


__all__ = ["TlsState", "CLIENT_HELLO", "SERVER_HELLO", "CLIENT_KEYX", "SERVER_KEYX",
           "UNKNOWN", "SSL2", "SSL3", "TLS10", "TLS11", "TLS12", "TLS13"]
