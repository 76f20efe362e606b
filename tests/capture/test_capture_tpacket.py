"""The TPACKET_V3 block walk on a hand-laid ring: VLAN tags put back, loopback copies skipped,
blocks handed back to the kernel, raw-IP devices read from the network header.

The live tests (test_capture_afpacket.py) check the layout against a real kernel; these cover
the branches a veth in this sandbox cannot produce (no 8021q module, no tun device).
"""

from __future__ import annotations

import mmap
import struct

from dpictl.capture.tpacket import (PKTTYPE_OFFSET, TP_STATUS_USER, TP_STATUS_VLAN_TPID_VALID,
                                    TP_STATUS_VLAN_VALID, Ring)

BLOCK = 4096
FRAME = bytes.fromhex("020000000002" "020000000001" "0800") + bytes(range(40))


def ring_with(packets: list[tuple[int, int, bytes]], *, ethernet: bool = True,
              loopback: bool = False) -> Ring:
    """A 2-block ring whose first block holds `packets` as (status, pkttype, frame)."""
    area = mmap.mmap(-1, 2 * BLOCK)
    pos = 48
    struct.pack_into("=III", area, 8, TP_STATUS_USER, len(packets), pos)
    for n, (status, pkttype, frame) in enumerate(packets):
        mac = 80                        # where the kernel put the frame, past sockaddr_ll
        size = (mac + len(frame) + 15) & ~15
        next_off = size if n + 1 < len(packets) else 0
        struct.pack_into("=IIIIIIHHIIH", area, pos, next_off, 1700000000 + n, 500_000_000,
                         len(frame), len(frame), status, mac, mac + 14, 0, 0x2007, 0x88A8)
        area[pos + PKTTYPE_OFFSET] = pkttype
        area[pos + mac:pos + mac + len(frame)] = frame
        pos += size
    ring = object.__new__(Ring)
    ring.map, ring.block_size, ring.block_count, ring._next = area, BLOCK, 2, 0
    ring.iface, ring.snaplen, ring.ethernet, ring.loopback = "veth0", 65535, ethernet, loopback
    ring.linktype = 1 if ethernet else 101
    ring.discarded = 0
    return ring


def test_packets_are_read_and_the_block_is_given_back():
    ring = ring_with([(TP_STATUS_USER, 0, FRAME), (TP_STATUS_USER, 4, FRAME[:30])])
    out: list = []
    ring.drain(out)
    assert out == [(1700000000.5, FRAME, 1, "veth0"), (1700000001.5, FRAME[:30], 1, "veth0")]
    assert struct.unpack_from("=I", ring.map, 8)[0] == 0 and ring._next == 1
    ring.drain(out)                     # block 1 still belongs to the kernel: nothing more
    assert len(out) == 2


def test_vlan_tag_is_reinserted_with_its_tpid():
    ring = ring_with([(TP_STATUS_USER | TP_STATUS_VLAN_VALID, 0, FRAME),
                      (TP_STATUS_USER | TP_STATUS_VLAN_VALID | TP_STATUS_VLAN_TPID_VALID, 0,
                       FRAME)])
    out: list = []
    ring.drain(out)
    assert out[0][1] == FRAME[:12] + b"\x81\x00\x20\x07" + FRAME[12:]
    assert out[1][1] == FRAME[:12] + b"\x88\xa8\x20\x07" + FRAME[12:]


def test_loopback_keeps_arrivals_only():
    ring = ring_with([(TP_STATUS_USER, 4, FRAME), (TP_STATUS_USER, 0, FRAME[:20])],
                     loopback=True)
    out: list = []
    ring.drain(out)
    assert [len(f) for _, f, _, _ in out] == [20]
    assert ring.discarded == 1          # the echo is counted, so totals still add up


def test_raw_ip_device_is_read_from_the_network_header():
    ring = ring_with([(TP_STATUS_USER, 0, FRAME)], ethernet=False)
    out: list = []
    ring.drain(out)
    assert out == [(1700000000.5, FRAME[14:], 101, "veth0")]
