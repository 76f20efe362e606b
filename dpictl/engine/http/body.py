"""HTTP message bodies: framing (Content-Length, chunked, until close) and content decoding.

Both work incrementally on whatever bytes have arrived, so a body split over many segments
(or fed one byte at a time) decodes to the same bytes. Output is bounded by the caller's limit:
decompression never produces more than asked for, so a compression bomb costs nothing.
"""

from __future__ import annotations

import zlib

LENGTH, CHUNKED, CLOSE = 0, 1, 2
_SIZE, _DATA, _DATA_END, _TRAILER = range(4)
_MAX_CHUNK_LINE = 1024


class BodyReader:
    """Takes a message body off the front of a buffer and returns it de-chunked."""

    __slots__ = ("mode", "remaining", "done", "error", "trailer", "_state")

    def __init__(self, mode: int, length: int = 0) -> None:
        self.mode = mode
        self.remaining = length
        self.done = mode == LENGTH and length <= 0
        self.error = False
        self.trailer = b""              # raw trailer section of a chunked body, empty line included
        self._state = _SIZE

    def consume(self, buf: bytearray) -> bytes:
        """Remove this body's bytes from the front of `buf`; return the decoded payload part."""
        if self.done or not buf:
            return b""
        if self.mode == CLOSE:
            out = bytes(buf)
            buf.clear()
            return out
        if self.mode == LENGTH:
            n = min(self.remaining, len(buf))
            out = bytes(buf[:n])
            del buf[:n]
            self.remaining -= n
            self.done = self.remaining == 0
            return out
        return self._chunked(buf)

    def skip(self, size: int) -> bool:
        """Account for `size` lost body bytes; False when the loss is not inside the body."""
        if self.mode == CLOSE:
            return True
        if self.mode == CHUNKED and self._state != _DATA:
            return False
        if size > self.remaining:
            return False
        self.remaining -= size
        if self.remaining == 0:
            if self.mode == LENGTH:
                self.done = True
            else:
                self._state = _DATA_END
        return True

    def _chunked(self, buf: bytearray) -> bytes:
        parts: list[bytes] = []
        while buf and not self.done:
            if self._state == _DATA:
                n = min(self.remaining, len(buf))
                parts.append(bytes(buf[:n]))
                del buf[:n]
                self.remaining -= n
                if self.remaining == 0:
                    self._state = _DATA_END
            elif self._state == _DATA_END:
                if buf[:2] == b"\r\n":
                    del buf[:2]
                elif buf[:1] == b"\n":
                    del buf[:1]
                elif buf == b"\r":
                    break                                  # wait for the LF
                self._state = _SIZE
            else:
                nl = buf.find(b"\n")
                if nl < 0:
                    if len(buf) > _MAX_CHUNK_LINE:
                        self._fail()
                    break
                raw = bytes(buf[:nl + 1])
                del buf[:nl + 1]
                line = raw.strip()
                if self._state == _TRAILER:
                    self.trailer += raw
                    if not line:
                        self.done = True
                    continue
                size = line.split(b";", 1)[0].strip()
                if not size:
                    continue                               # tolerate blank lines between chunks
                try:
                    self.remaining = int(size, 16)
                except ValueError:
                    self._fail()
                    break
                if self.remaining < 0:
                    self._fail()
                    break
                self._state = _TRAILER if self.remaining == 0 else _DATA
        return b"".join(parts)

    def _fail(self) -> None:
        self.error = True
        self.done = True


class Decompressor:
    """gzip / deflate (zlib-wrapped or raw) decoding with an output cap; passes data through
    unchanged after a decoding error, as libhtp does, so a lying Content-Encoding still leaves
    the body inspectable."""

    __slots__ = ("_kind", "_obj", "_passthrough")

    def __init__(self, encoding: str) -> None:
        self._kind = encoding
        self._obj: zlib._Decompress | None = None
        self._passthrough = False

    def feed(self, data: bytes, limit: int) -> bytes:
        if limit <= 0 or not data:
            return b""
        if self._passthrough:
            return data[:limit]
        if self._obj is None:
            if self._kind == "gzip":
                self._obj = zlib.decompressobj(16 + zlib.MAX_WBITS)
            else:
                zlib_header = len(data) >= 2 and data[0] & 0x0F == 8 and \
                    (data[0] << 8 | data[1]) % 31 == 0
                self._obj = zlib.decompressobj(zlib.MAX_WBITS if zlib_header else -zlib.MAX_WBITS)
        if self._obj.eof:
            return b""
        try:
            return self._obj.decompress(data, limit)
        except zlib.error:
            self._passthrough = True
            return data[:limit]


def content_decoder(encoding: bytes | None) -> Decompressor | None:
    """A decoder for a Content-Encoding value, or None for identity/unknown encodings."""
    if not encoding:
        return None
    last = encoding.split(b",")[-1].strip().lower()
    if last in (b"gzip", b"x-gzip"):
        return Decompressor("gzip")
    if last == b"deflate":
        return Decompressor("deflate")
    return None


__all__ = ["BodyReader", "Decompressor", "content_decoder", "LENGTH", "CHUNKED", "CLOSE"]
