"""Incremental MIME decoding of one mail message, line by line, into decoded parts.

Suricata fills `file_data` for SMTP with the decoded content of the message's MIME parts
(base64 and quoted-printable undone). The message arrives in pieces as TCP segments are
reassembled, may be huge, and may be hostile (endless nesting, millions of parts), so this
decoder takes one line at a time, keeps only the current part's decoded bytes (capped) and
the stack of open multipart boundaries (capped), and hands each part out as soon as its
closing boundary (or the end of the message) is seen.

Why not `email.parser.BytesFeedParser`: it builds the whole message tree in memory and only
gives it back at `close()`, so a part could not be inspected before the message ends, memory
would grow with the message, and its per-part limits are not configurable. The per-line
decoding does use the stdlib (`binascii.a2b_base64`, `binascii.a2b_qp`).
"""

from __future__ import annotations

import binascii
import re
from dataclasses import dataclass, field

MAX_PART_BYTES = 1 << 20       # decoded bytes kept per part; the rest is counted, not kept
MAX_PARTS = 100                # parts handed out per message; later ones are skipped
MAX_DEPTH = 10                 # nested multipart levels followed
MAX_HEADER_BYTES = 16384       # header block kept per part

_B64_DELETE = bytes(c for c in range(256)
                    if not (48 <= c <= 57 or 65 <= c <= 90 or 97 <= c <= 122 or c in b"+/"))
_PARAM = re.compile(rb';\s*([A-Za-z0-9_\-*]+)\s*=\s*("(?:[^"\\]|\\.)*"|[^;\s]*)')


@dataclass
class MimePart:
    """One leaf part: its headers (lower-case names), how it was encoded, and its data."""

    index: int
    headers: dict[str, bytes] = field(default_factory=dict)
    content_type: bytes = b"text/plain"
    encoding: bytes = b"7bit"
    filename: bytes | None = None
    data: bytearray = field(default_factory=bytearray)
    size: int = 0                  # decoded bytes seen, including those past the cap
    truncated: bool = False

    @property
    def is_attachment(self) -> bool:
        """Suricata 7 makes a file only of a part with a filename (Content-Disposition
        filename= or Content-Type name=); `Content-Disposition: attachment` without one is
        not a file (checked against Suricata 7.0.10)."""
        return self.filename is not None


def header_params(value: bytes) -> dict[bytes, bytes]:
    """`type/sub; a=b; c="d"` -> {b"a": b"b", b"c": b"d"} (names lower-cased)."""
    out = {}
    for name, val in _PARAM.findall(value):
        if val[:1] == b'"':
            val = val[1:-1].replace(b'\\"', b'"')
        out.setdefault(name.lower().rstrip(b"*"), val)
    return out


class MimeDecoder:
    """Feed the message lines (dot-unstuffed, line ending included); collect `parts`.

    `parts` holds the parts completed since the caller last emptied it.
    """

    def __init__(self, max_part_bytes: int = MAX_PART_BYTES, max_parts: int = MAX_PARTS) -> None:
        self.max_part_bytes = max_part_bytes
        self.max_parts = max_parts
        self.parts: list[MimePart] = []
        self.count = 0                       # parts started in this message
        self.skipped = 0                     # parts past max_parts
        self._boundaries: list[bytes] = []   # innermost last, each as b"--" + boundary
        self._in_headers = True
        self._header_lines: list[bytes] = []
        self._header_size = 0
        self._part: MimePart | None = None   # leaf being decoded (None: preamble/epilogue)
        self._b64_rest = b""
        self._closed = False
        self._seen = False

    @property
    def started(self) -> bool:
        """Any line of the message seen yet."""
        return self._seen

    # -- input ------------------------------------------------------------------------
    def line(self, line: bytes) -> None:
        """One line of the message, with its line ending (a long line may come in pieces)."""
        if self._closed:
            return
        self._seen = True
        if self._boundaries and line[:2] == b"--" and self._boundary(line):
            return
        if self._in_headers:
            self._header_line(line)
        elif self._part is not None:
            self._body_line(line)

    def finish(self) -> None:
        """End of message: hand out the part being decoded."""
        if self._closed:
            return
        if self._in_headers and self._header_lines:
            self._end_headers()
        self._end_part()
        self._closed = True

    # -- structure --------------------------------------------------------------------
    def _boundary(self, line: bytes) -> bool:
        text = line.rstrip(b"\r\n \t")
        for depth in range(len(self._boundaries) - 1, -1, -1):
            mark = self._boundaries[depth]
            if not text.startswith(mark):
                continue
            rest = text[len(mark):]
            if rest and rest != b"--":
                continue
            if self._in_headers and self._header_lines:
                self._end_headers()
            self._end_part()
            if rest == b"--":                    # close: back in the parent's epilogue
                del self._boundaries[depth:]
                self._in_headers = False
            else:                                # next part of this multipart
                del self._boundaries[depth + 1:]
                self._in_headers = True
            return True
        return False

    def _header_line(self, line: bytes) -> None:
        if line in (b"\r\n", b"\n") or not line.strip(b"\r\n"):
            self._end_headers()
            return
        if self._header_size < MAX_HEADER_BYTES:
            self._header_lines.append(line)
            self._header_size += len(line)

    def _end_headers(self) -> None:
        headers: dict[str, bytes] = {}
        name = None
        for raw in self._header_lines:
            if raw[:1] in (b" ", b"\t") and name is not None:      # folded continuation
                headers[name] += b" " + raw.strip()
                continue
            key, sep, value = raw.partition(b":")
            if not sep:
                continue
            name = key.strip().lower().decode("latin-1")
            headers.setdefault(name, value.strip())
        self._header_lines, self._header_size = [], 0
        self._in_headers = False
        ctype_raw = headers.get("content-type", b"text/plain")
        ctype = ctype_raw.split(b";", 1)[0].strip().lower() or b"text/plain"
        params = header_params(ctype_raw)
        if ctype.startswith(b"multipart/") and params.get(b"boundary"):
            if len(self._boundaries) < MAX_DEPTH:
                self._boundaries.append(b"--" + params[b"boundary"])
            return                               # preamble follows: not a part
        self.count += 1
        if self.count > self.max_parts:
            self.skipped += 1
            return
        disp = header_params(headers.get("content-disposition", b""))
        part = MimePart(index=self.count - 1, headers=headers, content_type=ctype,
                        encoding=headers.get("content-transfer-encoding", b"7bit")
                        .strip().lower(),
                        filename=disp.get(b"filename") or params.get(b"name"))
        self._part = part
        self._b64_rest = b""

    def _end_part(self) -> None:
        part = self._part
        if part is None:
            return
        if self._b64_rest:
            self._keep(_b64(self._b64_rest + b"=" * (-len(self._b64_rest) % 4)))
        self._part = None
        self._b64_rest = b""
        self.parts.append(part)

    # -- decoding ---------------------------------------------------------------------
    def _body_line(self, line: bytes) -> None:
        enc = self._part.encoding
        if enc == b"base64":
            chars = self._b64_rest + line.translate(None, _B64_DELETE)
            cut = len(chars) - len(chars) % 4
            self._b64_rest = chars[cut:]
            if cut:
                self._keep(_b64(chars[:cut]))
        elif enc == b"quoted-printable":
            body = line.rstrip(b"\r\n")
            if body.endswith(b"="):                 # soft line break
                self._keep(binascii.a2b_qp(body[:-1]))
            elif line.endswith(b"\n"):
                self._keep(binascii.a2b_qp(body) + b"\r\n")
            else:
                self._keep(binascii.a2b_qp(body))
        else:                                       # 7bit, 8bit, binary, unknown: as sent
            self._keep(line)

    def _keep(self, data: bytes) -> None:
        part = self._part
        part.size += len(data)
        room = self.max_part_bytes - len(part.data)
        if len(data) > room:
            part.truncated = True
            data = data[:max(room, 0)]
        if data:
            part.data += data


def _b64(chars: bytes) -> bytes:
    """Decode whole base64 quanta; a bad quantum (padding in the middle...) is dropped."""
    try:
        return binascii.a2b_base64(chars)
    except binascii.Error:
        out = bytearray()
        for i in range(0, len(chars), 4):
            try:
                out += binascii.a2b_base64(chars[i:i + 4])
            except binascii.Error:
                pass
        return bytes(out)


__all__ = ["MimeDecoder", "MimePart", "header_params", "MAX_PART_BYTES", "MAX_PARTS",
           "MAX_DEPTH"]
