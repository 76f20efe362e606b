"""Ethernet frames of a TCP session on port 25 (scapy), for the engine-level SMTP tests."""

from __future__ import annotations

from scapy.layers.inet import IP, TCP
from scapy.layers.l2 import Ether

CLIENT, SERVER = "10.9.0.1", "10.9.0.25"


def tcp_frames(turns: list[tuple[bool, bytes]], dport: int = 25, mss: int = 1400) -> list[bytes]:
    """Handshake, then each (to_server, data) turn in MSS-sized segments, each acknowledged,
    then FIN both ways."""
    cseq, sseq, sport = 1000, 9000, 41025
    frames = [bytes(Ether() / IP(src=CLIENT, dst=SERVER) /
                    TCP(sport=sport, dport=dport, flags="S", seq=cseq - 1)),
              bytes(Ether() / IP(src=SERVER, dst=CLIENT) /
                    TCP(sport=dport, dport=sport, flags="SA", seq=sseq - 1, ack=cseq))]

    def seg(to_server: bool, flags: str, data: bytes = b"") -> bytes:
        if to_server:
            return bytes(Ether() / IP(src=CLIENT, dst=SERVER) /
                         TCP(sport=sport, dport=dport, flags=flags, seq=cseq, ack=sseq) / data)
        return bytes(Ether() / IP(src=SERVER, dst=CLIENT) /
                     TCP(sport=dport, dport=sport, flags=flags, seq=sseq, ack=cseq) / data)

    frames.append(seg(True, "A"))
    for to_server, data in turns:
        for i in range(0, len(data), mss):
            piece = data[i:i + mss]
            frames.append(seg(to_server, "PA", piece))
            if to_server:
                cseq += len(piece)
            else:
                sseq += len(piece)
            frames.append(seg(not to_server, "A"))
    frames.append(seg(True, "FA"))
    cseq += 1
    frames.append(seg(False, "FA"))
    sseq += 1
    frames.append(seg(True, "A"))
    return frames


def interleave(client: list[bytes], server: list[bytes]) -> list[tuple[bool, bytes]]:
    """Server greets first, then client and server take turns."""
    turns = []
    for i in range(max(len(client), len(server))):
        if i < len(server):
            turns.append((False, server[i]))
        if i < len(client):
            turns.append((True, client[i]))
    return turns
