"""The decoded packet and the detection event: the two records every engine stage passes on.

`Packet` is deliberately a plain slotted class with defaults rather than a tree of header
objects: the hot path reads a handful of fields per packet, and attribute access on one
flat object is the cheapest thing Python offers. Decoders fill it once; nothing later
re-parses the frame.
"""

from __future__ import annotations

from dataclasses import dataclass, field

from dpictl.rules.ast import Rule

# IP protocol numbers used across the engine.
PROTO_ICMP = 1
PROTO_TCP = 6
PROTO_UDP = 17
PROTO_ICMPV6 = 58
PROTO_GRE = 47

# As Suricata 7's EVE names them (read from its alerts); other numbers print as digits.
PROTO_NAMES = {PROTO_ICMP: "ICMP", PROTO_TCP: "TCP", PROTO_UDP: "UDP", PROTO_ICMPV6: "IPv6-ICMP",
               0: "HOPOPT", 2: "IGMP", 3: "GGP", 4: "IP-in-IP", 8: "EGP", 9: "IGP",
               41: "IPv6", 44: "IPv6-Frag", 46: "RSVP", PROTO_GRE: "GRE", 50: "ESP", 51: "AH",
               88: "EIGRP", 89: "OSPF", 97: "ETHERIP", 98: "ENCAP", 103: "PIM", 108: "IPComp",
               112: "VRRP", 115: "L2TP", 124: "IS-IS", 135: "Mobility", 137: "MPLS-in-IP"}

# TCP flag bits as in the header.
TH_FIN, TH_SYN, TH_RST, TH_PUSH, TH_ACK, TH_URG, TH_ECE, TH_CWR = 1, 2, 4, 8, 16, 32, 64, 128

# pcap link types the decoders understand.
LINKTYPE_NULL = 0
LINKTYPE_ETHERNET = 1
LINKTYPE_RAW = 101
LINKTYPE_LOOP = 108
LINKTYPE_LINUX_SLL = 113
LINKTYPE_IPV4 = 228
LINKTYPE_IPV6 = 229
LINKTYPE_LINUX_SLL2 = 276


@dataclass(slots=True)
class Packet:
    """One decoded frame (after tunnel decapsulation and IP defragmentation).

    Addresses are text (`"10.0.0.1"`, `"2001:db8::1"`) because alerts, flow keys and
    attribution all want text; the detector caches their parsed form. `payload` is the L4
    payload (TCP/UDP data, or the ICMP body after the 8-byte header). `ip_proto` is 0 for
    frames that carry no IP packet (ARP, LLDP...), which no rule can match.
    """

    ts: float
    frame: bytes = b""
    linktype: int = LINKTYPE_ETHERNET
    iface: str | None = None
    num: int = 0                      # 1-based position in its source (pcap_cnt)

    ip_version: int = 0
    src: str = ""
    dst: str = ""
    ip_proto: int = 0
    ttl: int = 0
    tos: int = 0
    ip_id: int = 0
    ip_flags: int = 0                 # bit 0x4 reserved, 0x2 DF, 0x1 MF (IPv4 order)
    frag_offset: int = 0
    defragmented: bool = False        # this packet was rebuilt from fragments
    is_fragment: bool = False         # one fragment as received: IP header only, no flow
    tunnel_outer: bool = False        # carries a decoded tunnel: its payload is not inspected
    ip_header: bytes = b""            # the inspected (innermost, after tunnels) IP header bytes
    ip_len: int = 0

    sport: int = 0
    dport: int = 0
    tcp_flags: int = 0
    seq: int = 0
    ack: int = 0
    window: int = 0
    tcp_options: bytes = b""

    icmp_type: int = -1
    icmp_code: int = -1
    icmp_id: int = 0
    icmp_seq: int = 0

    payload: bytes = b""
    tunnels: tuple[str, ...] = ()     # e.g. ("vxlan",) or ("gre",), outermost first
    vlan: tuple[int, ...] = ()

    @property
    def proto_name(self) -> str:
        return PROTO_NAMES.get(self.ip_proto, str(self.ip_proto))


@dataclass(slots=True)
class Detection:
    """A rule matched. The engine's output; `dpictl.alerts` turns it into a stored Alert.

    Addresses and ports are those of the packet on which the engine decided (Suricata's
    convention): for a stream/HTTP match that is the packet that completed the inspected data.
    `to_server` is the direction of that packet in its flow, None for flowless protocols.
    """

    ts: float
    rule: Rule
    src_ip: str
    src_port: int
    dst_ip: str
    dst_port: int
    proto: str
    iface: str | None = None
    pkt_num: int = 0
    app_proto: str | None = None
    to_server: bool | None = None
    flow_id: int = 0
    extra: dict = field(default_factory=dict)
    frame: bytes = b""                 # the deciding packet as captured ("" for a flow's end)
    linktype: int = LINKTYPE_ETHERNET
    # the flow's kept packets before the deciding one, oldest first: (ts, frame, linktype)
    context: tuple[tuple[float, bytes, int], ...] = ()

    @property
    def sid(self) -> int:
        return self.rule.sid


__all__ = [
    "Packet", "Detection", "PROTO_ICMP", "PROTO_TCP", "PROTO_UDP", "PROTO_ICMPV6", "PROTO_GRE",
    "PROTO_NAMES", "TH_FIN", "TH_SYN", "TH_RST", "TH_PUSH", "TH_ACK", "TH_URG", "TH_ECE",
    "TH_CWR", "LINKTYPE_NULL", "LINKTYPE_ETHERNET", "LINKTYPE_RAW", "LINKTYPE_LOOP",
    "LINKTYPE_LINUX_SLL", "LINKTYPE_IPV4", "LINKTYPE_IPV6", "LINKTYPE_LINUX_SLL2",
]
