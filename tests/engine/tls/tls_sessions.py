"""TLS records and TCP sessions built by hand, for the TLS parser tests and the differential
test against Suricata (scapy's TLS layer needs `cryptography` and hides the bytes we want to
control: record boundaries, versions, SSLv2 headers, split records)."""

from __future__ import annotations

import struct

from scapy.layers.inet import IP, TCP
from scapy.layers.l2 import Ether

CLIENT, SERVER = "10.11.0.1", "10.11.0.2"

HANDSHAKE, CCS, ALERT, APPDATA = 0x16, 0x14, 0x15, 0x17
TLS10, TLS11, TLS12, TLS13, SSL3 = 0x0301, 0x0302, 0x0303, 0x0304, 0x0300


def record(content_type: int, version: int, body: bytes) -> bytes:
    return struct.pack("!BHH", content_type, version, len(body)) + body


def handshake(msg_type: int, body: bytes) -> bytes:
    return struct.pack("!B", msg_type) + len(body).to_bytes(3, "big") + body


def _ext(ext_type: int, body: bytes) -> bytes:
    return struct.pack("!HH", ext_type, len(body)) + body


def client_hello(version: int = TLS12, sni: bytes | None = b"example.org",
                 supported: tuple[int, ...] = (), extra: bytes = b"") -> bytes:
    """A ClientHello handshake message (no record header)."""
    exts = b""
    if sni is not None:
        name = b"\x00" + struct.pack("!H", len(sni)) + sni
        exts += _ext(0, struct.pack("!H", len(name)) + name)
    if supported:
        vers = b"".join(struct.pack("!H", v) for v in supported)
        exts += _ext(43, bytes([len(vers)]) + vers)
    body = (struct.pack("!H", version) + bytes(range(32)) + b"\x00" +
            struct.pack("!H", 4) + b"\x00\x2f\x00\x35" + b"\x01\x00" + extra +
            struct.pack("!H", len(exts)) + exts)
    return handshake(1, body)


def server_hello(version: int = TLS12, selected: int | None = None) -> bytes:
    exts = _ext(43, struct.pack("!H", selected)) if selected else b""
    body = (struct.pack("!H", version) + bytes(range(32, 64)) + b"\x00" + b"\x00\x2f" +
            b"\x00" + (struct.pack("!H", len(exts)) + exts if exts else b""))
    return handshake(2, body)


def certificate(*certs: bytes) -> bytes:
    chain = b"".join(len(c).to_bytes(3, "big") + c for c in certs)
    return handshake(11, len(chain).to_bytes(3, "big") + chain)


def server_key_exchange(body: bytes = b"\x03\x00\x17\x41" + bytes(65)) -> bytes:
    return handshake(12, body)


def server_hello_done() -> bytes:
    return handshake(14, b"")


def client_key_exchange(body: bytes = b"\x41" + bytes(65)) -> bytes:
    return handshake(16, body)


def sslv2_client_hello(version: int = 0x0002, challenge: bytes = bytes(16),
                       ciphers: bytes = b"\x01\x00\x80\x07\x00\xc0") -> bytes:
    """An SSLv2 (or SSLv2-compatible) CLIENT-HELLO with a 2-byte header."""
    body = (b"\x01" + struct.pack("!HHHH", version, len(ciphers), 0, len(challenge)) +
            ciphers + challenge)
    return struct.pack("!H", 0x8000 | len(body)) + body


def sslv2_server_hello() -> bytes:
    body = b"\x04\x00\x01" + struct.pack("!HHHH", 0x0002, 0, 3, 16) + b"\x01\x00\x80" + bytes(16)
    return struct.pack("!H", 0x8000 | len(body)) + body


class Session:
    """One TCP connection: `send(to_server, data)` adds segments (MSS-sized), each followed by
    the peer's pure ACK unless `ack=False`; `frames()` adds the FIN exchange."""

    def __init__(self, sport: int = 40000, dport: int = 443, mss: int = 1400) -> None:
        self.sport, self.dport, self.mss = sport, dport, mss
        self.cseq, self.sseq = 1000, 9000
        self._frames = [
            self._seg(True, "S", seq=self.cseq - 1, ack=0),
            self._seg(False, "SA", seq=self.sseq - 1, ack=self.cseq),
            self._seg(True, "A")]

    def _seg(self, to_server: bool, flags: str, data: bytes = b"", seq: int | None = None,
             ack: int | None = None) -> bytes:
        if to_server:
            ip, tcp = IP(src=CLIENT, dst=SERVER), TCP(
                sport=self.sport, dport=self.dport, flags=flags,
                seq=self.cseq if seq is None else seq, ack=self.sseq if ack is None else ack)
        else:
            ip, tcp = IP(src=SERVER, dst=CLIENT), TCP(
                sport=self.dport, dport=self.sport, flags=flags,
                seq=self.sseq if seq is None else seq, ack=self.cseq if ack is None else ack)
        return bytes(Ether() / ip / tcp / data)

    def send(self, to_server: bool, data: bytes, ack: bool = True,
             split: tuple[int, ...] = ()) -> Session:
        """`split`: cut points (offsets in `data`) besides the MSS ones."""
        cuts = sorted({*split, *range(self.mss, len(data), self.mss)} - {0, len(data)})
        pieces = [data[a:b] for a, b in zip([0, *cuts], [*cuts, len(data)])]
        for piece in pieces:
            self._frames.append(self._seg(to_server, "PA", piece))
            if to_server:
                self.cseq += len(piece)
            else:
                self.sseq += len(piece)
            if ack:
                self._frames.append(self._seg(not to_server, "A"))
        return self

    def ack(self, to_server: bool) -> Session:
        """A pure ACK sent by one side (to_server: by the client)."""
        self._frames.append(self._seg(to_server, "A"))
        return self

    def frames(self) -> list[bytes]:
        out = list(self._frames)
        out.append(self._seg(True, "FA"))
        self.cseq += 1
        out.append(self._seg(False, "FA"))
        self.sseq += 1
        out.append(self._seg(True, "A"))
        return out


def write_pcap(path, sessions: list[list[bytes]], start: float = 1700000000.0) -> list[bytes]:
    """Write the sessions one after the other; returns the frames in file order."""
    from scapy.utils import wrpcap

    frames = [f for s in sessions for f in s]
    pkts = []
    for i, f in enumerate(frames):
        p = Ether(f)
        p.time = start + i * 0.001
        pkts.append(p)
    wrpcap(str(path), pkts)
    return frames
