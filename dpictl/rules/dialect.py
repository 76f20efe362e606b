"""Telling Snort 2.9 rules from Snort 3 rules.

The syntaxes differ where it matters most: `content:"x"; http_uri;` puts "x" in the URI in
Snort 2.9 (a modifier of the content before it) but starts a URI sticky buffer for the
contents AFTER it in Snort 3. Most rules give themselves away (`content:"x",nocase` or
`service:http` is Snort 3; a standalone `nocase;` or `pcre:"/x/U"` is Snort 2.9); for the
rest the file decides (a file with any Snort 3 rule is read as Snort 3), and failing that a
buffer keyword before the first content means Snort 3.
"""

from __future__ import annotations

import re
from typing import Literal

Syntax = Literal["snort2", "snort3"]

# The keywords that are content modifiers in Snort 2.9 and sticky buffers in Snort 3.
HTTP_BUFFER_KEYWORDS = frozenset({
    "http_uri", "http_raw_uri", "http_header", "http_raw_header", "http_cookie",
    "http_raw_cookie", "http_client_body", "http_raw_body", "http_method", "http_stat_code",
    "http_stat_msg", "http_version", "http_param", "http_true_ip", "http_raw_request",
    "http_raw_status", "js_data", "vba_data",
})
SNORT2_ONLY = frozenset({"nocase", "rawbytes", "depth", "offset", "distance", "within",
                         "fast_pattern", "uricontent", "urilen", "http_encode"})
SNORT3_ONLY = frozenset({"service", "bufferlen", "http_param", "js_data", "vba_data",
                         "http_raw_body", "http_version", "http_true_ip", "http_raw_request",
                         "http_raw_status", "raw_data", "ber_data", "ber_skip", "rem", "regex"})
_PCRE_BUFFER_FLAG = re.compile(r'/[A-Za-z]*[UIPHDMCKSY][A-Za-z]*"\s*\Z')
SNORT_PROTOS = frozenset({"ip", "tcp", "udp", "icmp"})

# Separate searches: each can skip ahead on its literal prefix, one alternation cannot.
_FILE_SNORT3 = (
    re.compile(r";\s*service\s*:"),
    re.compile(r'content:\s*!?\s*"(?:[^"\\\n]|\\.)*"\s*,'),
    re.compile(r"^[ \t]*[a-z]+[ \t]+[a-z0-9_-]+[ \t]*\(", re.M),
)


def file_hint(text: str) -> Syntax | None:
    """"snort3" when any rule in the file is unmistakably Snort 3, else None."""
    return "snort3" if any(p.search(text) for p in _FILE_SNORT3) else None


def detect(header_fields: list[str], options: list[tuple[str, str | None]],
           hint: Syntax | None) -> Syntax:
    if len(header_fields) != 7 or header_fields[1].lower() not in SNORT_PROTOS:
        return "snort3"
    snort2 = False
    first_content = first_buffer = last_match = last_buffer = -1
    for i, (keyword, value) in enumerate(options):
        if keyword in SNORT3_ONLY:
            return "snort3"
        if keyword == "content":
            if value is not None and not value.rstrip().endswith('"'):
                return "snort3"          # comma sub-options after the string
            if first_content < 0:
                first_content = i
            last_match = i
        elif keyword in HTTP_BUFFER_KEYWORDS:
            if value is not None:
                return "snort3"          # http_header:field x
            if first_buffer < 0:
                first_buffer = i
            last_buffer = i
        elif keyword in SNORT2_ONLY:
            snort2 = True
        elif keyword == "pcre":
            last_match = i
            if value and _PCRE_BUFFER_FLAG.search(value):
                snort2 = True
    if snort2 or last_buffer > last_match:
        return "snort2"                  # a buffer keyword with nothing after it: a modifier
    if hint is not None:
        return hint
    if first_buffer >= 0 and (first_content < 0 or first_buffer < first_content):
        return "snort3"
    return "snort2"


__all__ = ["Syntax", "HTTP_BUFFER_KEYWORDS", "SNORT2_ONLY", "SNORT3_ONLY", "SNORT_PROTOS",
           "file_hint", "detect"]
