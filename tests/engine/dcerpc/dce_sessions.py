"""Crafted DCE/RPC sessions (TCP, SMB2, SMB1, UDP) and the probe rules run on them.

Each session is a list of frames on its own client port, so one pcap holds them all and an
alert is told apart by (sid, client port). The shapes were chosen to pin down Suricata
7.0.10's behaviour: bind/bind_ack acceptance, context ids, alter_context, version
comparisons, any_frag, fragments in one or several segments, PDUs split over segments,
big-endian PDUs, unknown PDU types, named pipes Suricata does or does not treat as
DCE/RPC, and requests that fire the community rules.
"""

from __future__ import annotations

import struct

from dce_frames import (ALTER, ALTER_RESP, bind, bind_ack, cl_pdu, co_pdu, drop_data_segment,
                        request, response, smb1_create, smb1_read, smb1_trans,
                        smb1_tree_connect, smb1_write, smb2_create, smb2_ioctl, smb2_read,
                        smb2_tree_connect, smb2_write, tcp_frames, udp_frames)

A = "4b324fc8-1670-01d3-1278-5a47bf6ee188"           # srvsvc
B = "338cd001-2244-31f1-aaaa-900038001003"           # winreg
LSASS = "3919286a-b10c-11d0-9ba8-00c04fd92ef5"
ACTIVATOR = "000001a0-0000-0000-c000-000000000046"
IROT = "b9e79e60-3d52-11ce-aaa1-00006901293f"
NDDE = "2f5f3220-c126-1076-b549-074d078619da"
LLS = "342cfd40-3c6c-11ce-a893-08002b2e9c6d"
IACT = "4d9f4ab8-7d1c-11cf-861e-0020af6e7c57"
GUID = bytes(range(16))

PROBES = f"""
alert ip any any -> any any (msg:"iface A"; dce_iface:{A}; sid:9100001;)
alert ip any any -> any any (msg:"iface B"; dce_iface:{B}; sid:9100002;)
alert ip any any -> any any (msg:"opnum 5"; dce_opnum:5; sid:9100003;)
alert ip any any -> any any (msg:"stub MARK1"; dce_stub_data; content:"MARK1"; sid:9100004;)
alert ip any any -> any any (msg:"stub MARK2"; dce_stub_data; content:"MARK2"; sid:9100005;)
alert tcp any any -> any any (msg:"A <3"; dce_iface:{A},<3; sid:9100006;)
alert tcp any any -> any any (msg:"A >3"; dce_iface:{A},>3; sid:9100007;)
alert tcp any any -> any any (msg:"A =3"; dce_iface:{A},=3; sid:9100008;)
alert tcp any any -> any any (msg:"A !3"; dce_iface:{A},!3; sid:9100009;)
alert tcp any any -> any any (msg:"A any_frag"; dce_iface:{A},any_frag; sid:9100010;)
alert ip any any -> any any (msg:"response"; flow:to_client; dce_stub_data; content:"RESPMARK"; sid:9100011;)
alert tcp any any -> any any (msg:"A and 5"; dce_iface:{A}; dce_opnum:5; sid:9100012;)
alert tcp any any -> any any (msg:"opnum list"; dce_opnum:4-6,9; sid:9100013;)
alert ip any any -> any any (msg:"byte_test dce"; dce_stub_data; content:"BT"; byte_test:4,=,258,0,relative,dce; sid:9100014;)
alert tcp any any -> any any (msg:"stub starts"; dce_stub_data; content:"MARK1"; depth:5; sid:9100015;)
alert ip any any -> any any (msg:"stub across fragments"; dce_stub_data; content:"AAAA"; content:"ZZZZ"; distance:0; sid:9100016;)
alert tcp any any -> any any (msg:"A to server"; flow:to_server; dce_iface:{A}; sid:9100017;)
alert tcp any any -> any any (msg:"A to client"; flow:to_client; dce_iface:{A}; sid:9100018;)
alert tcp any any -> any any (msg:"response header"; flow:to_client; dce_stub_data; content:"|00 00 00 00 52 45 53 50|"; sid:9100019;)
alert ip any any -> any any (msg:"opnum 1"; dce_opnum:1; sid:9100020;)
"""


def _stub(pad: int = 0) -> bytes:
    return b"\x02\x01\x00\x00BT\x00\x00\x01\x02MARK1" + b"x" * pad


def _smb2(pdus: list[tuple[bool, bytes]], sport: int, name: str = "srvsvc",
          use: str = "write", mss: int = 1400) -> list[bytes]:
    turns = []
    for pair in (smb2_tree_connect(1, "\\\\srv\\IPC$"), smb2_create(2, name, GUID)):
        turns += [(True, pair[0]), (False, pair[1])]
    pending = b""
    for mid, (to_server, pdu) in enumerate(pdus, 3):
        if use == "ioctl":
            if to_server:
                pending = pdu
                continue
            pair = smb2_ioctl(mid, GUID, pending, pdu)
        else:
            pair = smb2_write(mid, GUID, pdu) if to_server else smb2_read(mid, GUID, pdu)
        turns += [(True, pair[0]), (False, pair[1])]
    return tcp_frames(turns, 445, sport, mss=mss)


def _smb1(pdus: list[tuple[bool, bytes]], sport: int, name: str = "\\srvsvc",
          use: str = "write") -> list[bytes]:
    turns = []
    for pair in (smb1_tree_connect(1, "\\\\SRV\\IPC$"), smb1_create(2, name, 0x4000)):
        turns += [(True, pair[0]), (False, pair[1])]
    pending = b""
    for mid, (to_server, pdu) in enumerate(pdus, 3):
        if use == "trans":
            if to_server:
                pending = pdu
                continue
            pair = smb1_trans(mid, 0x4000, pending, pdu)
        else:
            pair = smb1_write(mid, 0x4000, pdu) if to_server else smb1_read(mid, 0x4000, pdu)
        turns += [(True, pair[0]), (False, pair[1])]
    return tcp_frames(turns, 445, sport)


def _bound(iface: str = A, version: int = 3) -> list[tuple[bool, bytes]]:
    return [(True, bind([(0, iface, version)])), (False, bind_ack([0]))]


def _frags(opnum: int = 4) -> list[bytes]:
    return [request(opnum, b"AAAA", call_id=2, flags=1), request(opnum, b"MARK2", call_id=2,
                                                                 flags=0),
            request(opnum, b"ZZZZ", call_id=2, flags=2)]


def sessions() -> dict[str, list[bytes]]:
    """name -> frames, each session on its own client port."""
    basic = _bound() + [(True, request(5, _stub(), call_id=2)),
                        (False, response(b"RESPMARK", call_id=2))]
    f1, f2, f3 = _frags()
    s: dict[str, object] = {
        # DCE/RPC straight on TCP
        "tcp_basic": lambda p: tcp_frames(basic, 135, p),
        "tcp_rejected": lambda p: tcp_frames([(True, bind([(0, A, 3)])), (False, bind_ack([2])),
                                              (True, request(5, _stub(), call_id=2))], 135, p),
        "tcp_no_bind_ack": lambda p: tcp_frames([(True, bind([(0, A, 3)])),
                                                 (True, request(5, _stub(), call_id=2))], 135, p),
        "tcp_context_id": lambda p: tcp_frames(
            [(True, bind([(0, A, 3), (1, B, 1)])), (False, bind_ack([0, 0])),
             (True, request(5, _stub(), ctx_id=1, call_id=2))], 135, p),
        "tcp_alter_context": lambda p: tcp_frames(
            _bound() + [(True, bind([(1, B, 1)], call_id=2, ptype=ALTER)),
                        (False, bind_ack([0], call_id=2, ptype=ALTER_RESP)),
                        (True, request(5, _stub(), ctx_id=0, call_id=3)),
                        (True, request(5, _stub(), ctx_id=1, call_id=4))], 135, p),
        "tcp_fragments_one_segment": lambda p: tcp_frames(_bound() + [(True, f1 + f2 + f3)],
                                                          135, p),
        "tcp_fragments_own_segments": lambda p: tcp_frames(
            _bound() + [(True, f1), (True, f2), (True, f3),
                        (False, response(b"r", call_id=2))], 135, p),
        "tcp_big_endian": lambda p: tcp_frames(
            [(True, bind([(0, A, 3)], little=False)), (False, bind_ack([0], little=False)),
             (True, request(5, b"BT\x00\x00\x01\x02MARK1", call_id=2, little=False))], 135, p),
        "tcp_big_endian_request": lambda p: tcp_frames(
            _bound() + [(True, request(5, b"BT\x00\x00\x01\x02MARK1", call_id=2,
                                       little=False))], 135, p),
        "tcp_split_over_segments": lambda p: tcp_frames(
            _bound() + [(True, request(9, _stub(3000), call_id=2))], 135, p, mss=500),
        "tcp_bind_not_first_fragment": lambda p: tcp_frames(
            [(True, bind([(0, A, 3)], flags=2)), (False, bind_ack([0])),
             (True, request(5, _stub(), call_id=2))], 135, p),
        "tcp_auth3_ends_parsing": lambda p: tcp_frames(
            _bound() + [(True, co_pdu(16, b"\x00" * 4)), (True, request(5, _stub(), call_id=2))],
            135, p),
        "tcp_bind_nak": lambda p: tcp_frames(
            [(True, bind([(0, A, 3)])), (False, co_pdu(13, b"\x00" * 4)),
             (True, request(5, b"MARK2", call_id=3))], 135, p),
        "tcp_two_pdus_one_segment": lambda p: tcp_frames(
            _bound() + [(True, request(7, b"q", call_id=2) + request(5, b"MARK2", call_id=3))],
            135, p),
        "tcp_same_call_id_twice": lambda p: tcp_frames(
            _bound() + [(True, request(7, b"q", call_id=2)), (True, request(5, b"MARK2",
                                                                           call_id=2))], 135, p),
        "tcp_high_port": lambda p: tcp_frames(basic, 49155, p),
        "tcp_gap_ends_parsing": lambda p: drop_data_segment(tcp_frames(
            _bound() + [(True, request(5, b"x" * 3000, call_id=2)),
                        (True, request(5, _stub(), call_id=3))], 135, p, mss=1000), 4),
        "tcp_fault_answers_request": lambda p: tcp_frames(
            _bound() + [(True, request(7, b"q", call_id=2)), (False, co_pdu(3, b"\x00" * 16,
                                                                             call_id=2)),
                        (True, request(5, b"MARK2", call_id=3))], 135, p),
        "tcp_request_then_bind": lambda p: tcp_frames(
            _bound() + [(True, request(5, _stub(), call_id=2)),
                        (True, bind([(1, B, 1)], call_id=3, ptype=ALTER)),
                        (False, response(b"RESPMARK", call_id=2))], 135, p),
        # SMB2 and SMB1 named pipes
        "smb2_write_read": lambda p: _smb2(basic, p),
        "smb2_ioctl": lambda p: _smb2(basic, p, use="ioctl"),
        "smb2_winreg_pipe": lambda p: _smb2(basic, p, name="winreg"),
        "smb2_netlogon_pipe_ignored": lambda p: _smb2(basic, p, name="netlogon"),
        "smb2_context_ignored": lambda p: _smb2(
            [(True, bind([(0, A, 3), (1, B, 1)])), (False, bind_ack([0, 0])),
             (True, request(5, _stub(), ctx_id=1, call_id=2))], p),
        "smb2_fragments": lambda p: _smb2(_bound() + [(True, f1), (True, f2), (True, f3)], p),
        "smb2_alter_context_ignored": lambda p: _smb2(
            _bound() + [(True, bind([(1, B, 1)], call_id=2, ptype=ALTER)),
                        (False, bind_ack([0], call_id=2, ptype=ALTER_RESP)),
                        (True, request(5, _stub(), ctx_id=1, call_id=3))], p),
        "smb2_rejected": lambda p: _smb2([(True, bind([(0, A, 3)])), (False, bind_ack([2])),
                                          (True, request(5, _stub(), call_id=2))], p),
        "smb2_two_pdus_one_write": lambda p: _smb2(
            _bound() + [(True, request(7, b"q", call_id=2) + request(5, b"MARK2", call_id=3))],
            p),
        "smb2_big_endian": lambda p: _smb2(
            [(True, bind([(0, A, 3)], little=False)), (False, bind_ack([0], little=False)),
             (True, request(5, b"BT\x00\x00\x01\x02MARK2", call_id=2, little=False))], p),
        "smb1_write_read": lambda p: _smb1(basic, p),
        "smb1_trans": lambda p: _smb1(basic, p, use="trans"),
        "smb1_fragments": lambda p: _smb1(_bound() + [(True, f1), (True, f2), (True, f3)], p),
        # the community rules
        "c2508_tcp": lambda p: tcp_frames(_bound(LSASS, 0) + [
            (True, request(9, struct.pack("<I", 513) + b"x" * 40, call_id=2))], 135, p),
        "c2508_tcp_not_above": lambda p: tcp_frames(_bound(LSASS, 0) + [
            (True, request(9, struct.pack("<I", 256) + b"x" * 40, call_id=2))], 135, p),
        "c2508_smb_reads_big_endian": lambda p: _smb2(_bound(LSASS, 0) + [
            (True, request(9, struct.pack("<I", 256) + b"x" * 40, call_id=2))], p,
            name="lsarpc"),
        "c2942_3218_smb1_winreg": lambda p: _smb1(_bound(B, 1) + [
            (True, request(24, b"x" * 16, call_id=2)),
            (True, request(15, b"y" * 20 + b"\x10\x00" + b"z" * 8, call_id=3))], p,
            name="\\winreg"),
        "c3397_tcp": lambda p: tcp_frames(_bound(ACTIVATOR, 0) + [
            (True, request(4, b"\x05\x00" * 8 + b"\x01\x10\x08\x00\xcc\xcc\xcc\xcc" + b"q" * 12
                           + struct.pack("<I", 4096) + b"\x5c\x00\x5c\x00" + b"r" * 8,
                           call_id=2))], 135, p),
        "c3238_tcp_irot": lambda p: tcp_frames(_bound(IROT, 0) + [
            (True, request(2, b"\x01\x01\x01\x01" + b"\x02" * 4 + struct.pack("<I", 4) + b"f" * 4
                           + struct.pack("<I", 2000), call_id=2))], 1025, p),
        "c529_tcp_srvsvc": lambda p: tcp_frames(_bound(A, 3) + [
            (True, request(15, b"AAAA" + b"\x00" * 4 + b"BBBBBBBB" + b"\x00" * 4, call_id=2))],
            135, p),
        "c2936_tcp_nddeapi": lambda p: tcp_frames(_bound(NDDE, 1) + [
            (True, request(12, b"\x00" * 12 + b"N" * 300, call_id=2))], 139, p),
        "c3114_tcp_llsrpc": lambda p: tcp_frames(_bound(LLS, 1) + [
            (True, request(0, struct.pack("<I", 100) + b"l" * 8, call_id=2))], 445, p),
        "c3409_tcp_iactivation": lambda p: tcp_frames(_bound(IACT, 0) + [
            (True, request(0, b"i" * 52 + struct.pack("<I", 1000) + b"j" * 8, call_id=2))],
            135, p),
        # DCE/RPC over UDP
        "udp_request_response": lambda p: udp_frames(
            [(True, cl_pdu(0, LSASS, 9, struct.pack("<I", 4096) + b"MARK1" + b"x" * 8)),
             (False, cl_pdu(2, LSASS, 9, b"RESPMARK"))], 135, p),
        "udp_fragments": lambda p: udp_frames(
            [(True, cl_pdu(0, LSASS, 1, b"AAAA", flags1=0x24, fragnum=0)),
             (True, cl_pdu(0, LSASS, 1, b"ZZZZ", flags1=0x26, fragnum=1))], 135, p),
        "c3159_udp_activator": lambda p: udp_frames(
            [(True, cl_pdu(0, ACTIVATOR, 1, b"\x01\x10\x08\x00\xcc\xcc\xcc\xcc" + b"q" * 12
                           + struct.pack("<I", 4096) + b"\x5c\x00\x5c\x00"))], 1025, p),
    }
    return {name: build(50000 + i) for i, (name, build) in enumerate(s.items())}


def community_dce_rules(shared_dir) -> str:
    """The 15 community rules that use dce_iface/dce_opnum/dce_stub_data."""
    lines = [line for line in (shared_dir / "rules" / "snort2-community-all-enabled.rules")
             .read_text().splitlines() if line.startswith("alert") and "dce_" in line]
    assert len(lines) == 15
    return "\n".join(lines) + "\n"
