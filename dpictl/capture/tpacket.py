"""One AF_PACKET socket with a TPACKET_V3 receive ring (packet(7), networking/packet_mmap.rst).

The kernel writes packets into a ring of blocks shared with us through mmap, and hands a block
over by setting TP_STATUS_USER in its header; we read every packet in it and give the block back
with TP_STATUS_KERNEL. A partly filled block is handed over after `block_timeout_ms`, so a quiet
interface still delivers promptly. One system call (poll) serves many packets, and nothing is
copied twice: a frame is sliced out of the map once, as bytes.

Layouts read here (linux/if_packet.h):
  tpacket_block_desc: version u32, offset_to_priv u32, then tpacket_hdr_v1:
    block_status u32 @8, num_pkts u32 @12, offset_to_first_pkt u32 @16, ...
  tpacket3_hdr: tp_next_offset, tp_sec, tp_nsec, tp_snaplen, tp_len, tp_status (u32 each),
    tp_mac u16, tp_net u16, hv1 {tp_rxhash u32, tp_vlan_tci u32, tp_vlan_tpid u16, pad u16}
"""

from __future__ import annotations

import fcntl
import mmap
import socket
import struct

SOL_PACKET = 263
PACKET_RX_RING = 5
PACKET_STATISTICS = 6
PACKET_VERSION = 10
PACKET_FANOUT = 18
PACKET_IGNORE_OUTGOING = 23
PACKET_FANOUT_HASH = 0
PACKET_FANOUT_FLAG_DEFRAG = 0x8000
SO_ATTACH_FILTER = 26
TPACKET_V3 = 2
ETH_P_ALL = 0x0003
TP_STATUS_KERNEL = 0
TP_STATUS_USER = 1
TP_STATUS_VLAN_VALID = 1 << 4
TP_STATUS_VLAN_TPID_VALID = 1 << 6
FRAME_SIZE = 2048
LINKTYPE_ETHERNET = 1               # pcap link types (capture imports nothing from the engine)
LINKTYPE_RAW = 101
SIOCGIFINDEX = 0x8933
# Devices whose frames start with an Ethernet header; every other kind is read from the network
# header on as raw IP (tun, ipip/gre/sit tunnels, wireguard, ppp).
ETHERNET_HATYPES = frozenset((1, 772))        # ARPHRD_ETHER, ARPHRD_LOOPBACK
ARPHRD_LOOPBACK = 772
PACKET_OUTGOING = 4
PKTTYPE_OFFSET = 48 + 10        # sockaddr_ll.sll_pkttype, after TPACKET_ALIGN(tpacket3_hdr)

_REQ3 = struct.Struct("=7I")
_BLOCK = struct.Struct("=III")                # block_status, num_pkts, offset_to_first_pkt
_PKT = struct.Struct("=IIIIIIHHIIH")
_STATS3 = struct.Struct("=III")               # tp_packets, tp_drops, tp_freeze_q_cnt
_STATUS = _U32 = struct.Struct("=I")
_VLAN_TAG = struct.Struct("!HH")
# A classic BPF program of one instruction, `ret #0`: accept nothing. struct sock_filter is
# {u16 code, u8 jt, u8 jf, u32 k}; BPF_RET|BPF_K is 0x06.
_DROP_ALL = struct.pack("=HBBI", 0x06, 0, 0, 0)


def fanout_id(group: int, ifindex: int) -> int:
    """The kernel's fanout group id for one interface of a dpictl fanout `group`.

    A fanout group binds one device: sockets of different interfaces that asked for the same
    id would be refused (EINVAL). Deriving the id from the interface index gives each
    interface its own group while every worker computes the same id for it.
    """
    return (group + ifindex * 0x9E3) & 0xFFFF


class Ring:
    """A bound packet socket and its mapped ring; `drain()` returns the packets ready now."""

    def __init__(self, sock: socket.socket, iface: str, *, block_size: int, block_count: int,
                 block_timeout_ms: int, snaplen: int, fanout_group: int | None = None) -> None:
        self.sock = sock
        self.iface = iface
        self.snaplen = snaplen
        self.block_size = block_size
        self.block_count = block_count
        self.packets = 0                # kernel counters, accumulated (a read resets them)
        self.drops = 0
        self.discarded = 0              # delivered to us but not handed on (loopback echo)
        sock.setsockopt(SOL_PACKET, PACKET_VERSION, TPACKET_V3)
        frames = block_size // FRAME_SIZE * block_count
        sock.setsockopt(SOL_PACKET, PACKET_RX_RING, _REQ3.pack(
            block_size, block_count, FRAME_SIZE, frames, block_timeout_ms, 0, 0))
        self.map = mmap.mmap(sock.fileno(), block_size * block_count, mmap.MAP_SHARED,
                             mmap.PROT_READ | mmap.PROT_WRITE)
        sock.bind((iface, ETH_P_ALL))
        self.ifindex = _ifindex(sock, iface)
        if fanout_group is not None:
            # Spread flows over the sockets of the same group (one per worker process); the
            # kernel's flow hash is symmetric (both directions of a flow reach one socket),
            # and defragmentation first keeps every fragment with its flow.
            mode = (PACKET_FANOUT_HASH | PACKET_FANOUT_FLAG_DEFRAG) << 16
            sock.setsockopt(SOL_PACKET, PACKET_FANOUT,
                            _U32.pack(mode | fanout_id(fanout_group, self.ifindex)))
        _name, _proto, _pkttype, hatype, _addr = sock.getsockname()
        self.ethernet = hatype in ETHERNET_HATYPES
        self.linktype = LINKTYPE_ETHERNET if self.ethernet else LINKTYPE_RAW
        # On loopback every packet is seen leaving and arriving: keep the arrival only, as
        # libpcap does, or every packet would be inspected twice.
        self.loopback = hatype == ARPHRD_LOOPBACK
        self._next = 0                          # the block the kernel fills next for us

    def fileno(self) -> int:
        return self.sock.fileno()

    def drain(self, out: list) -> None:
        """Append (ts, frame, linktype, iface) for every packet in every ready block."""
        ring, size, iface, linktype = self.map, self.block_size, self.iface, self.linktype
        snaplen, ethernet, loopback = self.snaplen, self.ethernet, self.loopback
        unpack = _PKT.unpack_from
        for _ in range(self.block_count):
            base = self._next * size
            status, count, pos = _BLOCK.unpack_from(ring, base + 8)
            if not status & TP_STATUS_USER:
                return
            pos += base
            for _ in range(count):
                (next_off, sec, nsec, caplen, _len, pstatus, mac, net, _hash, tci,
                 tpid) = unpack(ring, pos)
                if loopback and ring[pos + PKTTYPE_OFFSET] == PACKET_OUTGOING:
                    self.discarded += 1
                    pos += next_off
                    continue
                start = pos + (mac if ethernet else net)
                end = pos + mac + min(caplen, snaplen)
                frame = ring[start:end]
                if ethernet and pstatus & TP_STATUS_VLAN_VALID:
                    tag = _VLAN_TAG.pack(tpid if pstatus & TP_STATUS_VLAN_TPID_VALID else 0x8100,
                                         tci)
                    frame = frame[:12] + tag + frame[12:]
                out.append((sec + nsec * 1e-9, frame, linktype, iface))
                pos += next_off
            _STATUS.pack_into(ring, base + 8, TP_STATUS_KERNEL)
            self._next = (self._next + 1) % self.block_count

    def statistics(self) -> dict[str, int]:
        """Counters since the ring was opened, in Suricata's names.

        `kernel_packets` counts every packet the kernel had for this socket, dropped ones
        included (for TPACKET_V3 the kernel adds tp_drops to tp_packets); `kernel_drops` those
        it could not queue because the ring was full; `discarded` those delivered but not
        handed on by us. So what reaches the caller is packets - drops - discarded, exactly
        once the ring has been quiesced and drained.
        """
        packets, drops, _freeze = _STATS3.unpack(
            self.sock.getsockopt(SOL_PACKET, PACKET_STATISTICS, _STATS3.size))
        self.packets += packets
        self.drops += drops
        return {"kernel_packets": self.packets, "kernel_drops": self.drops,
                "discarded": self.discarded}

    def quiesce(self) -> None:
        """Make the kernel queue nothing more for this socket (a filter that accepts
        nothing; filtered packets are not counted), so that after one more drain the
        counters and what was read agree exactly."""
        # struct sock_fprog {u16 len; struct sock_filter *filter}: the kernel copies the
        # program during the call, so `program` need only outlive it (no BPF library is
        # worth a dependency for one instruction).
        import ctypes

        program = ctypes.create_string_buffer(_DROP_ALL, len(_DROP_ALL))
        fprog = struct.pack("HL", 1, ctypes.addressof(program))
        self.sock.setsockopt(socket.SOL_SOCKET, SO_ATTACH_FILTER, fprog)

    def still_bound(self) -> bool:
        """False once the interface we bound to was deleted (or replaced by a namesake)."""
        try:
            return _ifindex(self.sock, self.iface) == self.ifindex
        except OSError:
            return False

    def close(self) -> None:
        try:
            self.map.close()
        finally:
            self.sock.close()


def _ifindex(sock: socket.socket, iface: str) -> int:
    """Index of `iface` in the socket's own network namespace (SIOCGIFINDEX on the socket)."""
    request = struct.pack("16si", iface.encode()[:15], 0)
    return struct.unpack("16si", fcntl.ioctl(sock.fileno(), SIOCGIFINDEX, request))[1]


__all__ = ["Ring", "SOL_PACKET", "PACKET_IGNORE_OUTGOING", "TPACKET_V3", "ETH_P_ALL", "fanout_id"]
