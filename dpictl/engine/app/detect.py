"""App-layer protocol detection by content, so HTTP rules work on any port.

SMTP is recognised from the client's first command, `EHLO`/`HELO` (the server's `220`
greeting alone is not enough: FTP and others greet the same way).

Like Suricata's pattern-based detection: a to-server stream that starts with an HTTP method
and a space (case-insensitive), or a first line of the form `TOKEN SP target SP HTTP/x`, is
HTTP; so is a to-client stream that starts with `HTTP/`. Anything else is not, and once a
direction has shown enough bytes to decide, the verdict is final.
"""

from __future__ import annotations

MATCH, NEED_MORE, NO_MATCH = 1, 0, -1

HTTP_METHODS = frozenset(m.encode() for m in (
    "GET POST HEAD PUT DELETE OPTIONS TRACE CONNECT PATCH PROPFIND PROPPATCH MKCOL COPY MOVE "
    "LOCK UNLOCK SEARCH CHECKOUT CHECKIN REPORT MERGE MKACTIVITY VERSION-CONTROL "
    "BASELINE-CONTROL LABEL UPDATE UNCHECKOUT MKWORKSPACE BIND UNBIND REBIND ACL ORDERPATCH "
    "MKCALENDAR NOTIFY SUBSCRIBE UNSUBSCRIBE POLL BMOVE BCOPY BDELETE BPROPFIND BPROPPATCH"
).split())
_MAX_METHOD = max(len(m) for m in HTTP_METHODS)
_MAX_FIRST_LINE = 2048


def probe_http(prefix: bytes, to_server: bool) -> int:
    """MATCH, NO_MATCH, or NEED_MORE for the first bytes of one direction of a stream."""
    if not to_server:
        head = prefix[:5].upper()
        if len(head) < 5:
            return NEED_MORE if b"HTTP/".startswith(head) else NO_MATCH
        return MATCH if head == b"HTTP/" else NO_MATCH
    sp = prefix.find(b" ", 0, _MAX_METHOD + 1)
    if sp > 0 and prefix[:sp].upper() in HTTP_METHODS:
        return MATCH
    nl = prefix.find(b"\n")
    if nl < 0:
        if len(prefix) > _MAX_FIRST_LINE:
            return NO_MATCH
        if sp < 0 and len(prefix) <= _MAX_METHOD and _could_be_method(prefix):
            return NEED_MORE
        return NEED_MORE if _looks_like_token_start(prefix) else NO_MATCH
    parts = prefix[:nl].split()
    if (len(parts) == 3 and parts[2][:5].upper() == b"HTTP/" and parts[0].isalpha()
            and parts[2][5:6] != b"2"):                # "PRI * HTTP/2.0" is the HTTP/2 preface
        return MATCH
    return NO_MATCH


_SMTP_GREETINGS = (b"EHLO", b"HELO")


def probe_smtp(prefix: bytes, to_server: bool) -> int:
    """MATCH when the client opens with EHLO/HELO and a space or line end (any case)."""
    if not to_server:
        return NO_MATCH
    head = prefix[:5].upper()
    if len(head) < 5:
        return NEED_MORE if any(g.startswith(head[:4]) for g in _SMTP_GREETINGS) else NO_MATCH
    return MATCH if head[:4] in _SMTP_GREETINGS and head[4:5] in b" \r\n\t" else NO_MATCH


# Suricata 7's TLS patterns (app-layer-ssl.c): a record header of SSLv3 to TLS 1.2 at the
# start of either direction (the client may also open with |01 03 0x|), or an SSLv2
# CLIENT-HELLO of version 2 (|01 00 02| at offset 2); on port 443 its probing parser also
# takes any SSLv2 CLIENT-HELLO (high bit set, message type 1 in the third byte).
_TLS_TO_SERVER = frozenset(bytes((t, 3, v)) for t in (0x16, 0x01) for v in range(4))
_TLS_TO_CLIENT = frozenset(bytes((t, 3, v)) for t in (0x15, 0x16, 0x17) for v in range(4))


def probe_tls(prefix: bytes, to_server: bool, server_port: int = 0) -> int:
    """MATCH when one direction's first bytes are a TLS/SSL record or SSLv2 hello."""
    if len(prefix) < 3:
        if not prefix:
            return NEED_MORE
        return NEED_MORE if prefix[0] in (0x16, 0x01, 0x15, 0x17) or prefix[0] & 0x80 else NO_MATCH
    if prefix[:3] in (_TLS_TO_SERVER if to_server else _TLS_TO_CLIENT):
        return MATCH
    if not to_server:
        return NO_MATCH
    if server_port == 443 and prefix[0] & 0x80 and prefix[2] == 0x01:
        return MATCH
    if prefix[0] & 0x80 and prefix[2] == 0x01:
        if len(prefix) < 5:
            return NEED_MORE
        return MATCH if prefix[2:5] == b"\x01\x00\x02" else NO_MATCH
    return NO_MATCH


def _could_be_method(prefix: bytes) -> bool:
    up = prefix.upper()
    return any(m.startswith(up) for m in HTTP_METHODS)


def _looks_like_token_start(prefix: bytes) -> bool:
    """An unknown method is still plausible: letters, then (maybe) a space and a target."""
    sp = prefix.find(b" ")
    word = prefix if sp < 0 else prefix[:sp]
    return word.isalpha() and len(word) <= 32 and b"\0" not in prefix


__all__ = ["probe_http", "probe_smtp", "probe_tls", "MATCH", "NEED_MORE", "NO_MATCH",
           "HTTP_METHODS"]
