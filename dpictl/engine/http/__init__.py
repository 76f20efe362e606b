"""HTTP/1.x: incremental request/response parsing into the buffers Snort and Suricata rules name."""

from dpictl.engine.http.parser import HttpLimits, HttpParser
from dpictl.engine.http.transaction import (
    REQUEST_BODY, REQUEST_DONE, REQUEST_HEADERS, RESPONSE_BODY, RESPONSE_DONE, RESPONSE_HEADERS,
    HttpEvent, HttpMessage, HttpTransaction,
)
from dpictl.engine.http.uri import normalize_uri

__all__ = [
    "HttpParser", "HttpLimits", "HttpEvent", "HttpMessage", "HttpTransaction", "normalize_uri",
    "REQUEST_HEADERS", "REQUEST_BODY", "REQUEST_DONE", "RESPONSE_HEADERS", "RESPONSE_BODY",
    "RESPONSE_DONE",
]
