"""The HTTP server every local pod runs on :80, standing in for the lab image's web server.

It answers any method with 200 and reads the request body (so a POST completes as it would
against nginx). It is run as a script (`python -I podserver.py`) as pid 1 of the pod, as
nobody (see `isolation`), so it imports only the standard library and starts fast. After it
listens it writes "ready" to the file descriptor given by --ready-fd, which is how `run_pod`
knows the pod is up.
"""

from __future__ import annotations

import argparse
import os
import signal
import socket
import socketserver
import sys
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer

BODY = b"<html><body><h1>dpictl pod</h1></body></html>\n"


class AnyMethodHandler(BaseHTTPRequestHandler):
    protocol_version = "HTTP/1.1"
    server_version = "nginx"
    sys_version = ""

    def _answer(self) -> None:
        self._drain_body()
        self.send_response(200)
        self.send_header("Content-Type", "text/html")
        self.send_header("Content-Length", str(len(BODY) if self.command != "HEAD" else 0))
        self.end_headers()
        if self.command != "HEAD":
            self.wfile.write(BODY)

    def _drain_body(self) -> None:
        if self.headers.get("Transfer-Encoding", "").lower() == "chunked":
            while True:
                size = int(self.rfile.readline().split(b";")[0].strip() or b"0", 16)
                self.rfile.read(size + 2)
                if size == 0:
                    return
        length = int(self.headers.get("Content-Length") or 0)
        if length > 0:
            self.rfile.read(length)

    def __getattr__(self, name: str):
        # do_GET, do_POST, do_PUT, do_DELETE, do_PATCH, do_OPTIONS, do_FOO...: all the same.
        if name.startswith("do_"):
            return self._answer
        raise AttributeError(name)

    def log_message(self, format: str, *args) -> None:  # noqa: A002 - stdlib signature
        sys.stderr.write("%s %s\n" % (self.address_string(), format % args))
        sys.stderr.flush()


class PodHTTPServer(ThreadingHTTPServer):
    daemon_threads = True
    allow_reuse_address = True

    def server_bind(self) -> None:
        # HTTPServer.server_bind resolves its own name (socket.getfqdn): the pod's hostname is
        # in no /etc/hosts and the pod reaches no DNS server, so that took 5 s per pod.
        socketserver.TCPServer.server_bind(self)
        self.server_name = socket.gethostname()
        self.server_port = self.server_address[1]


def main(argv: list[str] | None = None) -> None:
    parser = argparse.ArgumentParser(description=__doc__)
    parser.add_argument("--port", type=int, default=80)
    parser.add_argument("--ready-fd", type=int, default=-1)
    # Only a label: `down` finds a server by it even when its netns is already gone.
    parser.add_argument("--netns", default="")
    args = parser.parse_args(argv)
    server = PodHTTPServer(("0.0.0.0", args.port), AnyMethodHandler)
    signal.signal(signal.SIGTERM, lambda *_: os._exit(0))
    if args.ready_fd >= 0:
        os.write(args.ready_fd, b"ready\n")
        os.close(args.ready_fd)
    server.serve_forever()


if __name__ == "__main__":
    main()
