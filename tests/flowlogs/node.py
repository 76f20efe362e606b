"""A one-node cluster in miniature, built with the local backend's own kernel plumbing: a
node netns that forwards, pod netns behind cali-like veths; all named `flowlogs-*` and
always removed. Sockets are made inside a pod's netns (a socket stays in the netns it was
created in) and then used from the test's threads, so traffic needs no subprocess."""

from __future__ import annotations

import socket
import threading
from contextlib import contextmanager
from dataclasses import dataclass, field
from typing import Iterator

from dpictl.backends.base import WorkloadEndpoint
from dpictl.backends.local import kernel

NODE = "flowlogs-node"


@dataclass
class MiniNode:
    netns: str = NODE
    pods: dict[str, WorkloadEndpoint] = field(default_factory=dict)
    made: list[str] = field(default_factory=list)       # every pod netns, to remove

    def add_pod(self, name: str, namespace: str, ip: str, labels: dict | None = None) -> None:
        pod_ns, host_if = f"flowlogs-{name}", f"flowlogsc{len(self.made)}"
        self.made.append(pod_ns)
        kernel.create_pod_netns(pod_ns)
        kernel.plumb_pod(self.netns, pod_ns, host_if, ip)
        self.pods[name] = WorkloadEndpoint(namespace, name, ip, "node-1", host_if,
                                           dict(labels or {}))

    def endpoints(self) -> list[WorkloadEndpoint]:
        return list(self.pods.values())

    def socket_in(self, pod: str, kind: int = socket.SOCK_STREAM) -> socket.socket:
        return kernel.run_in_netns(f"flowlogs-{pod}",
                                   lambda: socket.socket(socket.AF_INET, kind))

    def echo_server(self, pod: str, port: int) -> "EchoServer":
        sock = self.socket_in(pod)
        sock.setsockopt(socket.SOL_SOCKET, socket.SO_REUSEADDR, 1)
        sock.bind((self.pods[pod].ip, port))
        sock.listen(16)
        return EchoServer(sock).start()

    def exchange(self, client: str, server: str, port: int, payload: bytes,
                 close: bool = True) -> socket.socket:
        """Connect from `client`, send `payload`, read it echoed back; returns the socket
        (closed unless `close` is False)."""
        sock = self.socket_in(client)
        sock.settimeout(5)
        sock.connect((self.pods[server].ip, port))
        send_echo(sock, payload)
        if close:
            sock.close()
        return sock


def send_echo(sock: socket.socket, payload: bytes) -> None:
    sock.sendall(payload)
    got = b""
    while len(got) < len(payload):
        chunk = sock.recv(65536)
        assert chunk, "echo server closed early"
        got += chunk
    assert got == payload


class EchoServer:
    def __init__(self, sock: socket.socket) -> None:
        self.sock = sock
        self.sock.settimeout(0.2)
        self._stop = threading.Event()
        self._thread = threading.Thread(target=self._run, daemon=True)

    def start(self) -> "EchoServer":
        self._thread.start()
        return self

    def _run(self) -> None:
        while not self._stop.is_set():
            try:
                conn, _ = self.sock.accept()
            except (socket.timeout, OSError):
                continue
            threading.Thread(target=self._serve, args=(conn,), daemon=True).start()

    @staticmethod
    def _serve(conn: socket.socket) -> None:
        conn.settimeout(10)
        with conn:
            try:
                while data := conn.recv(65536):
                    conn.sendall(data)
            except OSError:
                pass

    def close(self) -> None:
        self._stop.set()
        self._thread.join(2)
        self.sock.close()


@contextmanager
def mini_node() -> Iterator[MiniNode]:
    node = MiniNode()
    try:
        kernel.ensure_node_netns(NODE)
        yield node
    finally:
        for pod_ns in node.made:
            kernel.remove_netns(pod_ns)
        kernel.remove_netns(NODE)
