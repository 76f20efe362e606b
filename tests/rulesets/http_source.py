"""A rule source served on loopback: static bytes per path, ETag and Last-Modified, 304s,
and a log of what was asked, so tests can see conditional requests happen."""

from __future__ import annotations

import hashlib
import threading
from dataclasses import dataclass, field
from email.utils import formatdate
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer


@dataclass
class RuleServer:
    files: dict[str, bytes] = field(default_factory=dict)
    log: list[tuple[str, int, dict]] = field(default_factory=list)   # (path, status, headers)
    server: ThreadingHTTPServer | None = None
    etags: bool = True          # False: only Last-Modified, as some mirrors serve

    @property
    def base(self) -> str:
        assert self.server is not None
        host, port = self.server.server_address[:2]
        return f"http://{host}:{port}"

    def url(self, path: str) -> str:
        return f"{self.base}/{path.lstrip('/')}"

    def publish(self, path: str, data: bytes | str, md5: str | None = None) -> str:
        """Serve `data` at `path`; `md5` also serves PATH.md5 (the digest, or a wrong one)."""
        data = data.encode() if isinstance(data, str) else data
        self.files["/" + path.lstrip("/")] = data
        if md5 is not None:
            self.files["/" + path.lstrip("/") + ".md5"] = f"{md5}  {path}\n".encode()
        return self.url(path)

    def statuses(self, path: str) -> list[int]:
        return [status for p, status, _ in self.log if p == "/" + path.lstrip("/")]


def _handler(state: RuleServer) -> type[BaseHTTPRequestHandler]:
    class Handler(BaseHTTPRequestHandler):
        def do_GET(self) -> None:  # noqa: N802 - http.server's name
            data = state.files.get(self.path)
            headers = dict(self.headers.items())
            if data is None:
                state.log.append((self.path, 404, headers))
                self.send_error(404)
                return
            etag = '"' + hashlib.sha1(data).hexdigest() + '"'
            modified = formatdate(1_700_000_000 + len(data), usegmt=True)
            fresh = (self.headers.get("If-None-Match") == etag if state.etags
                     else self.headers.get("If-Modified-Since") == modified)
            if fresh:
                state.log.append((self.path, 304, headers))
                self.send_response(304)
                self.send_header("ETag", etag)
                self.end_headers()
                return
            state.log.append((self.path, 200, headers))
            self.send_response(200)
            if state.etags:
                self.send_header("ETag", etag)
            self.send_header("Last-Modified", modified)
            self.send_header("Content-Length", str(len(data)))
            self.end_headers()
            self.wfile.write(data)

        def log_message(self, *args) -> None:
            pass

    return Handler


def start(state: RuleServer) -> RuleServer:
    state.server = ThreadingHTTPServer(("127.0.0.1", 0), _handler(state))
    threading.Thread(target=state.server.serve_forever, daemon=True).start()
    return state


def md5_of(data: bytes) -> str:
    return hashlib.md5(data).hexdigest()
