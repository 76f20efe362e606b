"""`ftpbounce`: an FTP PORT command that sends the server's data connection elsewhere.

The FTP bounce attack (CVE-1999-0017) asks a server to connect to a third host by giving
PORT an address that is not the client's own. Suricata 7 (detect-ftpbounce.c) reads the
first four comma-separated numbers after `PORT` and alerts when they differ from the
flow's client address; this follows it, quirks included, so that both engines judge the
same PORT lines alike: an octet may be 256 (only larger ones are refused), blanks may
precede a comma, a line shorter than the command plus 7 bytes is not read, and for an IPv6
client the address compared is its first four bytes.

Suricata tests the FTP parser's *current* command, the last complete request line it has
read (checked on 7.0.10: `PORT <other>\r\nLIST\r\n` in one segment does not alert). dpictl
has no FTP parser, so the check reads the last complete line of the inspected data (the
packet payload, or the stream chunk) and wants it to be a PORT command (any case); the rest
of the rule (`flow:to_server`, port 21) narrows it to FTP. A few lines of code do not
justify a dependency here.
"""

from __future__ import annotations

import ipaddress
import re
from functools import lru_cache

_PORT = re.compile(rb"PORT", re.I)
_COMMAND = 4                      # len(b"PORT"): where the arguments start
_BLANKS = frozenset(b" \t\r\n\v\f")


def ftp_bounce(data: bytes, client: str) -> bool:
    """True when the last command of `data` is a PORT naming an address but `client`'s."""
    end = data.rfind(b"\n")
    while end > 0:
        start = data.rfind(b"\n", 0, end) + 1
        line = data[start:end].rstrip(b"\r")
        if line.strip():
            return (_PORT.match(line) is not None
                    and _names_other_host(line, _client_word(client)))
        end = start - 1
    return False


def _names_other_host(line: bytes, own: int) -> bool:
    n = len(line)
    if n < 7 or _COMMAND + 7 >= n:
        return False
    i = _COMMAND
    while i < n and not 48 <= line[i] <= 57:
        i += 1
    octet = digits = octets = address = 0
    while i < n and digits < 4:
        ch = line[i]
        if 48 <= ch <= 57:
            octet = octet * 10 + ch - 48
            digits += 1
        else:
            if octet > 256:
                return False
            while i < n and line[i] in _BLANKS:
                i += 1
            if i >= n or line[i] != 44:           # ','
                return False
            octets += 1
            digits = 0
            address = ((address << 8) + octet) & 0xFFFFFFFF
            octet = 0
            if octets == 4:
                return address != own
        i += 1
    return False


@lru_cache(maxsize=1024)
def _client_word(client: str) -> int:
    """The client address as Suricata compares it: IPv4 as is, IPv6 its first 32 bits."""
    packed = ipaddress.ip_address(client).packed
    return int.from_bytes(packed[:4], "big")


__all__ = ["ftp_bounce"]
