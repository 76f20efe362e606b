"""A tiny API-server stand-in for the exec subresource: HTTP upgrade + k8s channel frames.

The test API server has no kubelet, so exec can never reach a container there. This server
speaks just enough of RFC 6455 and Kubernetes' channel protocol (v4/v5.channel.k8s.io) to
drive the real client code: it records the upgrade request, echoes stdin to stdout (like
`cat`), writes a line to stderr, and ends with the error-channel Status that carries the exit
code - byte for byte what a kubelet sends through the API server.
"""

from __future__ import annotations

import base64
import hashlib
import json
import socket
import struct
import threading
from dataclasses import dataclass, field
from urllib.parse import parse_qs, urlparse

GUID = "258EAFA5-E914-47DA-95CA-C5AB0DC85B11"


@dataclass
class Script:
    """What the fake 'container' does for one exec."""

    stdout: bytes = b""
    stderr: bytes = b""
    exit_code: int = 0
    echo_stdin: bool = False
    protocol: str = "v5.channel.k8s.io"
    refuse: tuple[int, dict] | None = None      # (HTTP status, Status body) instead of upgrading
    hang: bool = False                          # never finish (for the client's timeout)


@dataclass
class Seen:
    path: str = ""
    query: dict = field(default_factory=dict)
    headers: dict = field(default_factory=dict)
    stdin: bytes = b""


def _frame(payload: bytes, opcode: int = 0x2) -> bytes:
    head = bytes([0x80 | opcode])
    n = len(payload)
    if n < 126:
        head += bytes([n])
    elif n < 65536:
        head += bytes([126]) + struct.pack(">H", n)
    else:
        head += bytes([127]) + struct.pack(">Q", n)
    return head + payload


def _read_exact(conn: socket.socket, n: int) -> bytes:
    buf = b""
    while len(buf) < n:
        chunk = conn.recv(n - len(buf))
        if not chunk:
            raise ConnectionError("closed")
        buf += chunk
    return buf


def _read_frame(conn: socket.socket) -> tuple[int, bytes]:
    b0, b1 = _read_exact(conn, 2)
    n = b1 & 0x7F
    if n == 126:
        n = struct.unpack(">H", _read_exact(conn, 2))[0]
    elif n == 127:
        n = struct.unpack(">Q", _read_exact(conn, 8))[0]
    mask = _read_exact(conn, 4) if b1 & 0x80 else b"\0\0\0\0"
    data = bytes(c ^ mask[i % 4] for i, c in enumerate(_read_exact(conn, n)))
    return b0 & 0x0F, data


def exit_status(code: int) -> bytes:
    if code == 0:
        return json.dumps({"metadata": {}, "status": "Success"}).encode()
    return json.dumps({
        "metadata": {}, "status": "Failure",
        "message": f"command terminated with non-zero exit code: exit status {code}",
        "reason": "NonZeroExitCode",
        "details": {"causes": [{"reason": "ExitCode", "message": str(code)}]}}).encode()


class FakeExecServer:
    """Serves one scripted exec per connection on 127.0.0.1 (plain HTTP)."""

    def __init__(self, script: Script) -> None:
        self.script = script
        self.seen = Seen()
        self.sock = socket.socket()
        self.sock.bind(("127.0.0.1", 0))
        self.sock.listen(4)
        self.port = self.sock.getsockname()[1]
        self._stop = threading.Event()
        self._thread = threading.Thread(target=self._serve, daemon=True)
        self._thread.start()

    @property
    def url(self) -> str:
        return f"http://127.0.0.1:{self.port}"

    def close(self) -> None:
        self._stop.set()
        self.sock.close()

    def _serve(self) -> None:
        while not self._stop.is_set():
            try:
                conn, _ = self.sock.accept()
            except OSError:
                return
            with conn:
                try:
                    self._handle(conn)
                except (ConnectionError, OSError):
                    pass

    def _handle(self, conn: socket.socket) -> None:
        request = b""
        while b"\r\n\r\n" not in request:
            chunk = conn.recv(4096)
            if not chunk:
                return
            request += chunk
        lines = request.split(b"\r\n\r\n")[0].decode().split("\r\n")
        target = lines[0].split()[1]
        headers = {k.strip().lower(): v.strip()
                   for k, v in (line.split(":", 1) for line in lines[1:] if ":" in line)}
        url = urlparse(target)
        self.seen = Seen(path=url.path, query=parse_qs(url.query), headers=headers)
        s = self.script
        if s.refuse is not None:
            code, body = s.refuse
            payload = json.dumps(body).encode()
            conn.sendall(f"HTTP/1.1 {code} Refused\r\nContent-Type: application/json\r\n"
                         f"Content-Length: {len(payload)}\r\n\r\n".encode() + payload)
            return
        accept = base64.b64encode(hashlib.sha1(
            (headers["sec-websocket-key"] + GUID).encode()).digest()).decode()
        conn.sendall(("HTTP/1.1 101 Switching Protocols\r\nUpgrade: websocket\r\n"
                      f"Connection: Upgrade\r\nSec-WebSocket-Accept: {accept}\r\n"
                      f"Sec-WebSocket-Protocol: {s.protocol}\r\n\r\n").encode())
        if s.echo_stdin:
            self._echo(conn)
        if s.stdout:
            conn.sendall(_frame(b"\x01" + s.stdout))
        if s.stderr:
            conn.sendall(_frame(b"\x02" + s.stderr))
        if s.hang:
            self._stop.wait(30)
            return
        conn.sendall(_frame(b"\x03" + exit_status(s.exit_code)))
        conn.sendall(_frame(struct.pack(">H", 1000), opcode=0x8))

    def _echo(self, conn: socket.socket) -> None:
        """Read stdin frames until the client closes channel 0 (v5 CLOSE: 255, 0)."""
        while True:
            opcode, data = _read_frame(conn)
            if opcode == 0x8 or not data:
                return
            if data[0] == 255 and data[1:2] == b"\x00":
                conn.sendall(_frame(b"\x01" + self.seen.stdin))
                return
            if data[0] == 0:
                self.seen.stdin += data[1:]


def kubeconfig_for(url: str, path, token: str = "fake-token") -> None:
    """A kubeconfig pointing at a plain-HTTP fake server."""
    path.write_text(
        "apiVersion: v1\nkind: Config\n"
        f"clusters: [{{name: f, cluster: {{server: '{url}'}}}}]\n"
        f"users: [{{name: f, user: {{token: {token}}}}}]\n"
        "contexts: [{name: f, context: {cluster: f, user: f}}]\ncurrent-context: f\n")


__all__ = ["FakeExecServer", "Script", "kubeconfig_for", "exit_status"]
