"""Byte builders for DCE/RPC PDUs, SMB1/SMB2 pipe messages and the TCP/UDP frames that
carry them, for the DCE/RPC tests (engine-level and against Suricata).

Hand-built rather than with scapy's DCE/RPC and SMB layers: the tests need malformed and
unusual shapes (split PDUs, big-endian, fragments, partial reads) field by field.
"""

from __future__ import annotations

import struct
import uuid as uuidlib

from scapy.layers.inet import IP, TCP, UDP
from scapy.layers.l2 import Ether

CLIENT, SERVER = "10.11.0.1", "10.11.0.2"
NDR = uuidlib.UUID("8a885d04-1ceb-11c9-9fe8-08002b104860")

REQUEST, RESPONSE, BIND, BIND_ACK, ALTER, ALTER_RESP = 0, 2, 11, 12, 14, 15


def co_pdu(ptype: int, body: bytes, call_id: int = 1, flags: int = 3,
           little: bool = True, auth: bytes = b"") -> bytes:
    drep = b"\x10\x00\x00\x00" if little else b"\x00\x00\x00\x00"
    e = "<" if little else ">"
    length = 16 + len(body) + len(auth)
    return (bytes([5, 0, ptype, flags]) + drep + struct.pack(e + "HHI", length, len(auth) and
                                                              len(auth) - 8, call_id)
            + body + auth)


def _uuid(u: str, little: bool) -> bytes:
    v = uuidlib.UUID(u)
    return v.bytes_le if little else v.bytes


def bind(contexts: list[tuple[int, str, int]], call_id: int = 1, little: bool = True,
         ptype: int = BIND, flags: int = 3) -> bytes:
    """contexts: (context id, interface uuid, major version)."""
    e = "<" if little else ">"
    body = struct.pack(e + "HHI", 4280, 4280, 0) + struct.pack(e + "B3x", len(contexts))
    for ctx_id, iface, version in contexts:
        body += struct.pack(e + "HBx", ctx_id, 1) + _uuid(iface, little)
        body += struct.pack(e + "HH", version, 0) + _uuid(str(NDR), little) + \
            struct.pack(e + "I", 2)
    return co_pdu(ptype, body, call_id, flags, little)


def bind_ack(results: list[int], call_id: int = 1, little: bool = True,
             ptype: int = BIND_ACK) -> bytes:
    e = "<" if little else ">"
    sec = b"\\PIPE\\srvsvc\x00"
    body = struct.pack(e + "HHI", 4280, 4280, 0x1234) + struct.pack(e + "H", len(sec)) + sec
    body += b"\x00" * ((-(len(sec) + 2)) % 4)
    body += struct.pack(e + "B3x", len(results))
    for r in results:
        body += struct.pack(e + "HH", r, 0) + _uuid(str(NDR), little) + struct.pack(e + "I", 2)
    return co_pdu(ptype, body, call_id, 3, little)


def request(opnum: int, stub: bytes, ctx_id: int = 0, call_id: int = 1, flags: int = 3,
            little: bool = True) -> bytes:
    e = "<" if little else ">"
    return co_pdu(REQUEST, struct.pack(e + "IHH", len(stub), ctx_id, opnum) + stub, call_id,
                  flags, little)


def response(stub: bytes, ctx_id: int = 0, call_id: int = 1, flags: int = 3,
             little: bool = True) -> bytes:
    e = "<" if little else ">"
    return co_pdu(RESPONSE, struct.pack(e + "IHBx", len(stub), ctx_id, 0) + stub, call_id,
                  flags, little)


# -- SMB2 -------------------------------------------------------------------------------
def nbss(msg: bytes) -> bytes:
    return struct.pack(">I", len(msg)) + msg


def smb2(command: int, body: bytes, msg_id: int, reply: bool = False, tree: int = 1,
         session: int = 0x55, status: int = 0) -> bytes:
    flags = 1 if reply else 0
    hdr = (b"\xfeSMB" + struct.pack("<HHIHHIIQIIQ", 64, 1, status, command, 1, flags, 0,
                                     msg_id, 0, tree, session) + b"\x00" * 16)
    return hdr + body


def smb2_tree_connect(msg_id: int, share: str, tree: int = 1) -> tuple[bytes, bytes]:
    path = share.encode("utf-16-le")
    req = smb2(3, struct.pack("<HHHH", 9, 0, 64 + 8, len(path)) + path, msg_id, tree=0)
    share_type = 2 if share.upper().endswith("IPC$") else 1
    resp = smb2(3, struct.pack("<HBBIII", 16, share_type, 0, 0, 0, 0x1F01FF), msg_id,
                reply=True, tree=tree)
    return nbss(req), nbss(resp)


def smb2_create(msg_id: int, name: str, guid: bytes, tree: int = 1) -> tuple[bytes, bytes]:
    raw = name.encode("utf-16-le")
    body = struct.pack("<HBBIQQIIIIIHHII", 57, 0, 0, 2, 0, 0, 0x12019F, 0, 7, 1, 0,
                       64 + 56, len(raw), 0, 0) + raw
    req = smb2(5, body, msg_id, tree=tree)
    rbody = struct.pack("<HBBI", 89, 0, 0, 1) + b"\x00" * 48 + struct.pack("<II", 0x80, 0) \
        + guid + struct.pack("<II", 0, 0)
    resp = smb2(5, rbody, msg_id, reply=True, tree=tree)
    return nbss(req), nbss(resp)


def smb2_write(msg_id: int, guid: bytes, data: bytes, tree: int = 1) -> tuple[bytes, bytes]:
    body = struct.pack("<HHIQ", 49, 64 + 48, len(data), 0) + guid + struct.pack(
        "<IIHHI", 0, 0, 0, 0, 0) + data
    req = smb2(9, body, msg_id, tree=tree)
    resp = smb2(9, struct.pack("<HHIIHH", 17, 0, len(data), 0, 0, 0), msg_id, reply=True,
                tree=tree)
    return nbss(req), nbss(resp)


def smb2_read(msg_id: int, guid: bytes, data: bytes, tree: int = 1,
              status: int = 0) -> tuple[bytes, bytes]:
    body = struct.pack("<HBBIQ", 49, 0, 0, 4280, 0) + guid + struct.pack(
        "<IIIHH", 0, 0, 0, 0, 0) + b"\x00"
    req = smb2(8, body, msg_id, tree=tree)
    resp = smb2(8, struct.pack("<HBBII4x", 17, 64 + 16, 0, len(data), 0) + data, msg_id,
                reply=True, tree=tree, status=status)
    return nbss(req), nbss(resp)


def smb2_ioctl(msg_id: int, guid: bytes, data: bytes, out: bytes,
               tree: int = 1) -> tuple[bytes, bytes]:
    ctl = 0x0011C017
    body = struct.pack("<HHI", 57, 0, ctl) + guid + struct.pack(
        "<IIIIIIII", 64 + 56, len(data), 0, 64 + 56, 0, 4280, 1, 0) + data
    req = smb2(11, body, msg_id, tree=tree)
    rbody = struct.pack("<HHI", 49, 0, ctl) + guid + struct.pack(
        "<IIIIII", 64 + 48, 0, 64 + 48, len(out), 0, 0) + out
    resp = smb2(11, rbody, msg_id, reply=True, tree=tree)
    return nbss(req), nbss(resp)


# -- SMB1 -------------------------------------------------------------------------------
def smb1(command: int, words: bytes, data: bytes, mid: int, reply: bool = False,
         tid: int = 1, uid: int = 0x800, status: int = 0) -> bytes:
    flags = 0x98 if reply else 0x18
    hdr = (b"\xffSMB" + struct.pack("<BIBH", command, status, flags, 0xC807) + b"\x00" * 12
           + struct.pack("<HHHH", tid, 0xFEFF, uid, mid))
    return hdr + bytes([len(words) // 2]) + words + struct.pack("<H", len(data)) + data


def smb1_tree_connect(mid: int, path: str, tid: int = 1) -> tuple[bytes, bytes]:
    data = b"\x00" + path.encode("utf-16-le") + b"\x00\x00" + b"?????\x00"
    req = smb1(0x75, struct.pack("<BBHHH", 0xFF, 0, 0, 0, 1), data, mid, tid=0)
    service = b"IPC\x00" if path.upper().endswith("IPC$") else b"A:\x00"
    resp = smb1(0x75, struct.pack("<BBHH", 0xFF, 0, 0, 1), service + b"\x00\x00", mid,
                reply=True, tid=tid)
    return nbss(req), nbss(resp)


def smb1_create(mid: int, name: str, fid: int, tid: int = 1) -> tuple[bytes, bytes]:
    raw = name.encode("utf-16-le") + b"\x00\x00"
    words = struct.pack("<BBHBHIIIQIIIIIB", 0xFF, 0, 0, 0, len(raw) - 2, 0x16, 0, 0x2019F, 0,
                        0, 3, 1, 0, 2, 0)
    # 32 header + 1 word count + 48 words + 2 byte count = 83: odd, one pad byte
    req = smb1(0xA2, words, b"\x00" + raw, mid, tid=tid)
    rwords = struct.pack("<BBHBHI", 0xFF, 0, 0, 0, fid, 1) + b"\x00" * 32 + struct.pack(
        "<IQQHHB", 0x80, 4096, 0, 2, 0xFF, 0)
    resp = smb1(0xA2, rwords, b"", mid, reply=True, tid=tid)
    return nbss(req), nbss(resp)


def smb1_write(mid: int, fid: int, data: bytes, tid: int = 1) -> tuple[bytes, bytes]:
    offset = 32 + 1 + 28 + 2 + 1          # header, word count, 14 words, byte count, pad
    words = struct.pack("<BBHHIIHHHHHI", 0xFF, 0, 0, fid, 0, 0xFFFFFFFF, 8, len(data), 0,
                        len(data), offset, 0)
    req = smb1(0x2F, words, b"\xee" + data, mid, tid=tid)
    rwords = struct.pack("<BBHHHI", 0xFF, 0, 0, len(data), 0xFFFF, 0)
    resp = smb1(0x2F, rwords, b"", mid, reply=True, tid=tid)
    return nbss(req), nbss(resp)


def smb1_read(mid: int, fid: int, data: bytes, tid: int = 1) -> tuple[bytes, bytes]:
    words = struct.pack("<BBHHIHHIHI", 0xFF, 0, 0, fid, 0, 4280, 4280, 0xFFFFFFFF, 4280, 0)
    req = smb1(0x2E, words, b"", mid, tid=tid)
    offset = 32 + 1 + 24 + 2 + 1
    rwords = struct.pack("<BBHHHHHHH", 0xFF, 0, 0, 0xFFFF, 0, 0, len(data), offset, 0) \
        + b"\x00" * 8
    resp = smb1(0x2E, rwords, b"\x00" + data, mid, reply=True, tid=tid)
    return nbss(req), nbss(resp)


def smb1_trans(mid: int, fid: int, data: bytes, out: bytes, tid: int = 1) -> tuple[bytes, bytes]:
    name = b"\\\x00P\x00I\x00P\x00E\x00\\\x00\x00\x00"
    offset = 32 + 1 + 32 + 2 + 1 + len(name)
    words = struct.pack("<HHHHBBHIHHHHHBBHH", 0, len(data), 0, 4280, 0, 0, 0, 0, 0, 0, offset,
                        len(data), offset, 2, 0, 0x26, fid)
    req = smb1(0x25, words, b"\x00" + name + data, mid, tid=tid)
    roffset = 32 + 1 + 20 + 2 + 1
    rwords = struct.pack("<HHHHHHHHHBB", 0, len(out), 0, 0, roffset, 0, len(out), roffset, 0,
                         0, 0)
    resp = smb1(0x25, rwords, b"\x00" + out, mid, reply=True, tid=tid)
    return nbss(req), nbss(resp)


# -- transport ----------------------------------------------------------------------------
def tcp_frames(turns: list[tuple[bool, bytes]], dport: int, sport: int = 49200,
               mss: int = 1400, client: str = CLIENT, server: str = SERVER) -> list[bytes]:
    """Handshake, each (to_server, data) turn in MSS-sized segments, each acknowledged,
    then FIN both ways."""
    cseq, sseq = 1000, 9000
    ip_c, ip_s = IP(src=client, dst=server), IP(src=server, dst=client)
    frames = [bytes(Ether() / ip_c / TCP(sport=sport, dport=dport, flags="S", seq=cseq - 1)),
              bytes(Ether() / ip_s / TCP(sport=dport, dport=sport, flags="SA", seq=sseq - 1,
                                         ack=cseq))]

    def seg(to_server: bool, flags: str, data: bytes = b"") -> bytes:
        if to_server:
            return bytes(Ether() / ip_c / TCP(sport=sport, dport=dport, flags=flags, seq=cseq,
                                              ack=sseq) / data)
        return bytes(Ether() / ip_s / TCP(sport=dport, dport=sport, flags=flags, seq=sseq,
                                          ack=cseq) / data)

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


def drop_data_segment(frames: list[bytes], nth: int) -> list[bytes]:
    """`frames` without the nth (1-based) TCP segment that carries data: a capture hole."""
    out, seen = [], 0
    for frame in frames:
        pkt = Ether(frame)
        if TCP in pkt and len(pkt[TCP].payload):
            seen += 1
            if seen == nth:
                continue
        out.append(frame)
    return out


def udp_frames(datagrams: list[tuple[bool, bytes]], dport: int = 135,
               sport: int = 49300) -> list[bytes]:
    out = []
    for to_server, data in datagrams:
        if to_server:
            out.append(bytes(Ether() / IP(src=CLIENT, dst=SERVER) /
                             UDP(sport=sport, dport=dport) / data))
        else:
            out.append(bytes(Ether() / IP(src=SERVER, dst=CLIENT) /
                             UDP(sport=dport, dport=sport) / data))
    return out


def cl_pdu(ptype: int, iface: str, opnum: int, body: bytes, seqnum: int = 1,
           activity: str = "11111111-2222-3333-4444-555555555555", flags1: int = 0x20,
           fragnum: int = 0, little: bool = True, version: int = 0) -> bytes:
    """A connectionless (UDP) DCE/RPC PDU: the 80-byte header names the interface itself."""
    e = "<" if little else ">"
    drep = b"\x10\x00\x00" if little else b"\x00\x00\x00"
    return (bytes([4, ptype, flags1, 0]) + drep + b"\x00" + b"\x00" * 16 + _uuid(iface, little)
            + _uuid(activity, little) + struct.pack(e + "IIIHHHHHBB", 0, version, seqnum,
                                                    opnum, 0xFFFF, 0xFFFF, len(body),
                                                    fragnum, 0, 0) + body)
