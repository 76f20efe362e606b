"""SMTP: follow commands and replies, cut out each mail message, decode its MIME parts.

The engine feeds the in-order bytes of each direction (as for HTTP, see
`dpictl.engine.app.layer`). The client side is split into command lines until `DATA`, then
message lines until the lone `.` (dot-unstuffed only if asked: Suricata does not), or
`BDAT n [LAST]` chunks; the message goes line by line through a `MimeDecoder` and every
decoded part becomes a `PART_DONE` event, the end of the message a `MESSAGE_DONE` event. The
server side is parsed only as far as needed: a `DATA` refused with a 4xx/5xx reply means the
client's next lines are commands again. After `STARTTLS` the rest of the session is
encrypted, so parsing stops.

Transactions are numbered per message (`tx_id`), like Suricata's SMTP transactions.
"""

from __future__ import annotations

from dataclasses import dataclass, field

from dpictl.engine.app.mime import MAX_PART_BYTES, MAX_PARTS, MimeDecoder, MimePart

PART_DONE = "smtp_part_done"          # one MIME part decoded (event.part)
MESSAGE_DONE = "smtp_message_done"    # end of one message (event.parts: all its parts)

MAX_LINE = 65536          # a longer line is handed on in pieces (base64 bodies still decode)
MAX_COMMANDS = 512        # commands awaiting a reply (pipelining), bounded

_COMMAND, _DATA, _BDAT, _TLS = range(4)


@dataclass
class SmtpLimits:
    """Bounds per message, and whether to undo dot-stuffing.

    `unstuff_dots` is off by default because Suricata 7.0.10 hands message lines to its
    MIME decoder as sent (`..x` stays `..x`; checked with a file_data rule), and the
    engine aims at the same alerts.
    """

    max_part_bytes: int = MAX_PART_BYTES
    max_parts: int = MAX_PARTS
    unstuff_dots: bool = False


@dataclass
class SmtpEvent:
    kind: str
    tx_id: int
    part: MimePart | None = None
    parts: list[MimePart] = field(default_factory=list)


class _Lines:
    """Splits a byte stream into lines (ending kept), bounded in memory."""

    __slots__ = ("_buf",)

    def __init__(self) -> None:
        self._buf = b""

    def push(self, data: bytes) -> list[bytes]:
        buf = self._buf + data if self._buf else data
        out = []
        start = 0
        while True:
            nl = buf.find(b"\n", start)
            if nl < 0:
                break
            out.append(buf[start:nl + 1])
            start = nl + 1
        rest = buf[start:]
        while len(rest) > MAX_LINE:
            out.append(rest[:MAX_LINE])
            rest = rest[MAX_LINE:]
        self._buf = rest
        return out

    def take_rest(self) -> bytes:
        rest, self._buf = self._buf, b""
        return rest


class SmtpParser:
    """Both directions of one SMTP session (state for one flow)."""

    def __init__(self, limits: SmtpLimits | None = None) -> None:
        self.limits = limits or SmtpLimits()
        self.messages = 0
        self.commands: list[bytes] = []      # sent, reply not seen yet (oldest first)
        self._mode = _COMMAND
        self._client = _Lines()
        self._server = _Lines()
        self._mime: MimeDecoder | None = None
        self._parts: list[MimePart] = []
        self._bdat_left = 0
        self._bdat_last = False
        self._chunk = _Lines()               # BDAT chunk bytes -> message lines
        self._events: list[SmtpEvent] = []

    # -- engine interface (same shape as HttpParser) --------------------------------------
    def feed(self, data: bytes, to_server: bool, ts: float = 0.0) -> list[SmtpEvent]:
        if to_server:
            self._client_bytes(data)
        else:
            for line in self._server.push(data):
                self._reply(line)
        return self._take_events()

    def finish(self, ts: float = 0.0, to_server: bool | None = None) -> list[SmtpEvent]:
        """A direction (both when None) ended: a message cut short still yields its parts."""
        if to_server in (None, True):
            rest = self._client.take_rest()
            if rest and self._mode == _DATA:
                self._message_line(rest)
            if self._mode in (_DATA, _BDAT):
                self._end_message()
            self._mode = _COMMAND
        return self._take_events()

    def gap(self, missing: int, to_server: bool) -> list[SmtpEvent]:
        """Bytes lost in one direction: a message in progress ends there (cannot resync)."""
        if to_server:
            self._client.take_rest()
            if self._mode in (_DATA, _BDAT):
                self._end_message()
                self._mode = _COMMAND
        else:
            self._server.take_rest()
        return self._take_events()

    # -- client ---------------------------------------------------------------------------
    def _client_bytes(self, data: bytes) -> None:
        while data:
            if self._mode == _TLS:
                return
            if self._mode == _BDAT:
                data = self._bdat_bytes(data)
                continue
            lines = self._client.push(data)
            data = b""
            for i, line in enumerate(lines):
                if self._mode == _DATA:
                    self._message_line(line)
                elif self._mode == _COMMAND:
                    self._command(line)
                if self._mode in (_BDAT, _TLS):
                    # the chunk (or TLS) starts right after this line: hand the rest back
                    data = b"".join(lines[i + 1:]) + self._client.take_rest()
                    break

    def _command(self, line: bytes) -> None:
        verb, _, arg = line.strip().partition(b" ")
        verb = verb.upper()
        if len(self.commands) < MAX_COMMANDS:
            self.commands.append(verb)
        if verb == b"DATA":
            self._start_message(_DATA)
        elif verb == b"BDAT":
            words = arg.split()
            if words and words[0].isdigit():
                if self._mime is None:
                    self._start_message(_BDAT)
                self._mode = _BDAT
                self._bdat_left = int(words[0])
                self._bdat_last = len(words) > 1 and words[1].upper() == b"LAST"
                if self._bdat_left == 0 and self._bdat_last:
                    self._end_message()
                    self._mode = _COMMAND
        elif verb == b"STARTTLS":
            self._mode = _TLS

    def _bdat_bytes(self, data: bytes) -> bytes:
        take = data[:self._bdat_left]
        self._bdat_left -= len(take)
        for line in self._chunk.push(take):
            self._mime.line(line)
        if self._bdat_left == 0:
            if self._bdat_last:
                rest = self._chunk.take_rest()
                if rest:
                    self._mime.line(rest)
                self._end_message()
            self._mode = _COMMAND
        self._flush_parts()
        return data[len(take):]

    def _start_message(self, mode: int) -> None:
        self._mode = mode
        self._chunk = _Lines()
        self._mime = MimeDecoder(self.limits.max_part_bytes, self.limits.max_parts)
        self._parts = []

    def _message_line(self, line: bytes) -> None:
        if line in (b".\r\n", b".\n"):
            self._end_message()
            self._mode = _COMMAND
            return
        if line[:1] == b"." and self.limits.unstuff_dots:    # RFC 5321 4.5.2
            line = line[1:]
        self._mime.line(line)
        if self._mime.parts:
            self._flush_parts()

    def _flush_parts(self) -> None:
        mime = self._mime
        if mime is None:
            return
        for part in mime.parts:
            self._parts.append(part)
            self._events.append(SmtpEvent(PART_DONE, self.messages, part=part))
        mime.parts = []

    def _end_message(self) -> None:
        if self._mime is None:
            return
        self._mime.finish()
        self._flush_parts()
        self._events.append(SmtpEvent(MESSAGE_DONE, self.messages, parts=self._parts))
        self.messages += 1
        self._mime = None
        self._parts = []

    # -- server ---------------------------------------------------------------------------
    def _reply(self, line: bytes) -> None:
        code = line[:3]
        if not code.isdigit() or line[3:4] == b"-":
            return                                # not a reply, or not its last line
        if not self.commands:
            return                                # the greeting (220) or unsolicited
        verb = self.commands.pop(0)
        if (verb == b"DATA" and code[:1] in b"45" and self._mode == _DATA
                and self._mime is not None and not self._mime.started):
            # DATA refused (4xx/5xx) before any message line: the next lines are commands
            self._mime = None
            self._mode = _COMMAND

    def _take_events(self) -> list[SmtpEvent]:
        if not self._events:
            return []
        out, self._events = self._events, []
        return out


__all__ = ["SmtpParser", "SmtpEvent", "SmtpLimits", "PART_DONE", "MESSAGE_DONE"]
