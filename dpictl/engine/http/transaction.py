"""HTTP transactions (a request and its response) and the events that say when to inspect them.

A transaction's buffers are keyed by the rule buffer names of `dpictl.rules.ast.BUFFERS`.
Request and response each have their own dict because several names exist on both sides
(`http_header`, `http_raw_header`, `http_cookie`, `http_version`...): the side a rule reads is
the direction it inspects (`flow:to_client` -> response), which `HttpTransaction.get` resolves.
Names that exist on one side only (`http_uri` on the request, `http_stat_code` on the
response) are found on that side whatever the direction, as Suricata does for a rule that
mixes request and response buffers.
"""

from __future__ import annotations

from urllib.parse import unquote_to_bytes

# Event kinds, in the order they happen for one transaction.
REQUEST_HEADERS = "request_headers"    # request line + headers: method, uri, header, cookie...
REQUEST_BODY = "request_body"          # http_client_body grew (holds every body byte so far)
REQUEST_DONE = "request_done"          # request complete; client body final
RESPONSE_HEADERS = "response_headers"  # status line + headers: stat_code, stat_msg, header...
RESPONSE_BODY = "response_body"        # file_data grew (holds every body byte so far)
RESPONSE_DONE = "response_done"        # response complete; file_data final

REQUEST_ONLY = frozenset({
    "http_method", "http_uri", "http_raw_uri", "http_client_body", "http_raw_request",
    "http_param", "http_true_ip",
})
RESPONSE_ONLY = frozenset({"http_stat_code", "http_stat_msg", "http_raw_status"})


class HttpMessage:
    """One side of a transaction. `buffers` fills as the message arrives (see event kinds)."""

    __slots__ = ("ts", "fields", "header_fields", "buffers", "headers_complete", "complete",
                 "body_len", "body_truncated", "interim")

    def __init__(self, ts: float = 0.0) -> None:
        self.ts = ts
        self.fields: list[tuple[bytes, bytes]] = []    # headers in order, names as sent
        self.header_fields: dict[str, bytes] = {}      # lower-case name -> merged value
        self.buffers: dict[str, bytes] = {}
        self.headers_complete = False
        self.complete = False
        self.body_len = 0               # body bytes seen on the wire (after de-chunking)
        self.body_truncated = False     # body longer than the configured limit
        self.interim = False            # a 1xx response, to be replaced by the final one


class HttpTransaction:
    """A request and its response, numbered from 0 in their flow."""

    __slots__ = ("tx_id", "request", "response", "has_request")

    def __init__(self, tx_id: int, ts: float, has_request: bool = True) -> None:
        self.tx_id = tx_id
        self.request = HttpMessage(ts)
        self.response = HttpMessage()
        self.has_request = has_request       # False: a response seen without its request

    @property
    def method(self) -> bytes:
        return self.request.buffers.get("http_method", b"")

    def get(self, name: str, to_server: bool, field: str | None = None) -> bytes | None:
        """The named buffer as a rule inspecting direction `to_server` sees it, None if absent.

        `field` narrows `http_header`/`http_raw_header` to one header (Snort 3
        `http_header:field name`) and names the parameter of `http_param`.
        """
        if field is not None:
            if name == "http_param":
                return self.param(field)
            if name in ("http_header", "http_raw_header"):
                return self.field(field, to_server)
        if name in REQUEST_ONLY:
            return self.request.buffers.get(name)
        if name in RESPONSE_ONLY:
            return self.response.buffers.get(name)
        return (self.request if to_server else self.response).buffers.get(name)

    def field(self, name: str, to_server: bool) -> bytes | None:
        """One header's value (Snort 3 `http_header:field name`); `name` in any case."""
        msg = self.request if to_server else self.response
        return msg.header_fields.get(name.lower())

    def param(self, name: str) -> bytes | None:
        """Snort 3 `http_param`: a query or url-encoded body parameter, percent-decoded."""
        b = self.request.buffers
        sources = []
        uri = b.get("http_raw_uri", b"")
        if b"?" in uri:
            sources.append(uri.split(b"?", 1)[1].split(b"#", 1)[0])
        ctype = self.request.header_fields.get("content-type", b"").lower()
        if b"x-www-form-urlencoded" in ctype and b.get("http_client_body"):
            sources.append(b["http_client_body"])
        wanted = name.lower().encode("latin-1")
        for src in sources:
            for pair in src.split(b"&"):
                key, _, value = pair.partition(b"=")
                if unquote_plus(key).lower() == wanted:
                    return unquote_plus(value)
        return None

    def __repr__(self) -> str:
        uri = self.request.buffers.get("http_raw_uri", b"")
        code = self.response.buffers.get("http_stat_code", b"")
        return f"HttpTransaction({self.tx_id} {self.method!r} {uri!r} -> {code!r})"


def unquote_plus(data: bytes) -> bytes:
    """Form decoding: `+` is a space, `%XX` a byte."""
    return unquote_to_bytes(data.replace(b"+", b" "))


class HttpEvent:
    """Something in `tx` became inspectable; `to_server` is the direction whose data did it."""

    __slots__ = ("kind", "tx", "to_server")

    def __init__(self, kind: str, tx: HttpTransaction, to_server: bool) -> None:
        self.kind = kind
        self.tx = tx
        self.to_server = to_server

    def __repr__(self) -> str:
        return f"HttpEvent({self.kind}, tx={self.tx.tx_id})"


__all__ = [
    "HttpMessage", "HttpTransaction", "HttpEvent", "REQUEST_HEADERS", "REQUEST_BODY",
    "REQUEST_DONE", "RESPONSE_HEADERS", "RESPONSE_BODY", "RESPONSE_DONE", "REQUEST_ONLY",
    "RESPONSE_ONLY",
]
