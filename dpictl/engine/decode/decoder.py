"""`Decoder`: a captured frame in, one flat `Packet` out (or None while fragments wait).

This is the composition root of the decoders: the dispatch tables below say which function
handles which link type, EtherType and IP protocol, and `Decoder` walks them link -> VLAN ->
IP (with defragmentation) -> transport -> tunnel -> inner IP. It owns the only state the
decoders need, the fragment table, and counts what happened to every frame in `stats`.

Policies, stated once:
- A truncated or malformed frame (at any layer, L4 included) is counted and dropped: decode()
  returns None and never raises. A half-decoded TCP packet with ports 0 would only confuse the
  flow table downstream.
- A frame without IP (ARP, LLDP, an unknown link type) gives a Packet with `ip_version` 0 and
  `ip_proto` 0, no rule can match it but the engine can still count it.
- An IP protocol we do not take apart (GRE we cannot follow, IGMP, OSPF...) gives a Packet
  with that `ip_proto`, ports 0 and no payload, as Suricata 7 inspects it (a `dsize:0` matches,
  a `content` does not); ESP's payload is what follows its 8-byte header, as in Suricata.
- MPLS label stacks and PPPoE sessions are shims, not tunnels: as in Suricata the packet is
  the IP packet they carry (MPLS payload guessed as decode-mpls.c does, see mpls.py).
- Tunnels (VXLAN on UDP 4789, Geneve on UDP 6081, Teredo on UDP 3544, GRE, IPv6 in IPv4,
  IPv4/IPv6 in IPv6) are followed to the innermost IP packet, which is what `decode()` returns
  (addresses, ports, `ip_header`, payload); `tunnels` names the encapsulations outermost
  first and `frame` stays the captured frame. When the inner packet is not IP or does not
  decode, the outer packet is returned instead, untouched.
- Fragments are held until their datagram is whole; the Packet of the fragment that completes
  it describes the whole datagram with `defragmented=True`, ts/num/frame of that last fragment,
  `frag_offset` 0 and MF clear. IPv4 keeps the first fragment's header (options included).

`decode_all()` gives every packet Suricata 7 inspects for one frame, in its order (checked
with probe rules against Suricata 7.0.10, see docs/parity.md):
- each IP fragment is a packet of its own before the reassembled datagram (`is_fragment`):
  its IP header fields, no transport header and no payload, so only IP-level keywords can
  match it (`fragbits`, `id`, `ttl`, `ip_proto`...); an IPv4 fragment keeps the datagram's
  protocol number (a `udp` rule without ports or content matches it, with ports 0), an IPv6
  fragment has protocol 44 (the fragment header), as Suricata reports it;
- a tunnel's outer packet comes before the inner one, with its headers (addresses, ports, flow)
  but no payload (`tunnel_outer`): Suricata does not inspect the tunnel's bytes as the outer's
  payload, and no `dsize` matches it, not even `dsize:0`.
"""

from __future__ import annotations

from dataclasses import replace
from typing import Callable

from dpictl.engine.decode import (ethernet, geneve, gre, icmp, icmpv6, ipv4, ipv6, mpls, null,
                                  pppoe, sll, tcp, teredo, udp, vlan, vxlan)
from dpictl.engine.decode.errors import DecodeError, Malformed, Truncated
from dpictl.engine.decode.fast_ipv4 import ethernet_ipv4
from dpictl.engine.decode.fragments import FragmentTable
from dpictl.engine.packet import (LINKTYPE_ETHERNET, LINKTYPE_IPV4, LINKTYPE_IPV6,
                                  LINKTYPE_LINUX_SLL, LINKTYPE_LINUX_SLL2, LINKTYPE_LOOP,
                                  LINKTYPE_NULL, LINKTYPE_RAW, PROTO_GRE, PROTO_ICMP,
                                  PROTO_ICMPV6, PROTO_TCP, PROTO_UDP, Packet)

ETH_P_IPV4 = ethernet.ETH_P_IPV4
ETH_P_IPV6 = ethernet.ETH_P_IPV6
ETH_P_TEB = ethernet.ETH_P_TEB
PROTO_IPIP = 4
PROTO_IPV6_IN_IP = 41
PROTO_IPV6_FRAGMENT = ipv6.NH_FRAGMENT
PROTO_ESP = ipv6.NH_ESP
ESP_HEADER_LEN = 8                  # SPI and sequence number; the rest is (encrypted) payload
MAX_TUNNEL_DEPTH = 3
MAX_SHIM_DEPTH = 4

# Link type -> parser returning (ethertype or 0, offset of the network header).
LINK_PARSERS: dict[int, Callable[[bytes, int], tuple[int, int]]] = {
    LINKTYPE_ETHERNET: ethernet.parse,
    LINKTYPE_LINUX_SLL: sll.parse_sll,
    LINKTYPE_LINUX_SLL2: sll.parse_sll2,
    LINKTYPE_RAW: null.parse_raw,
    LINKTYPE_IPV4: null.parse_ipv4,
    LINKTYPE_IPV6: null.parse_ipv6,
    LINKTYPE_NULL: null.parse_null,
    LINKTYPE_LOOP: null.parse_loop,
}

# IP protocol -> transport parser filling the Packet.
TRANSPORT_PARSERS: dict[int, Callable[[Packet, bytes, int, int], None]] = {
    PROTO_TCP: tcp.parse,
    PROTO_UDP: udp.parse,
    PROTO_ICMP: icmp.parse,
    PROTO_ICMPV6: icmpv6.parse,
}

# IP protocol -> (tunnel name, EtherType of the inner packet; 0 = ask the GRE header).
# IPv4 in IPv4 is not followed: Suricata 7.0.10 follows IPv6 in IPv4 and IPv4/IPv6 in IPv6
# but inspects IPv4-in-IPv4 as an IP-in-IP packet only (checked with probe rules).
IP_TUNNELS: dict[int, tuple[str, int]] = {
    PROTO_GRE: ("gre", 0),
    PROTO_IPIP: ("ipip", ETH_P_IPV4),
    PROTO_IPV6_IN_IP: ("ipip", ETH_P_IPV6),
}

# EtherType -> parser of a shim layer returning (EtherType of what it carries or 0, offset).
SHIM_PARSERS: dict[int, Callable[[bytes, int, int], tuple[int, int]]] = {
    mpls.ETH_P_MPLS_UC: mpls.parse,
    mpls.ETH_P_MPLS_MC: mpls.parse,
    pppoe.ETH_P_PPPOE_SESSION: pppoe.parse_session,
}

STAT_NAMES = ("decoded", "non_ip", "truncated", "malformed", "unsupported_linktype",
              "fragments", "reassembled", "frag_timeouts", "frag_evicted", "frag_overlaps",
              "frag_malformed", "tunneled", "tunnel_errors", "internal_errors")


class Decoder:
    """Decodes frames into Packets; one per capture source, as it holds fragment state.

    `frag_timeout` (seconds of packet time), `frag_max_bytes` and `frag_max_datagrams` bound
    the fragment table; `vxlan_ports` are the UDP destination ports decoded as VXLAN,
    `geneve_ports` and `teredo_ports` the UDP ports (either side) decoded as Geneve, Teredo.
    """

    def __init__(self, *, frag_timeout: float = 60.0, frag_max_bytes: int = 16 << 20,
                 frag_max_datagrams: int = 4096,
                 vxlan_ports: frozenset[int] = vxlan.DEFAULT_PORTS,
                 geneve_ports: frozenset[int] = geneve.DEFAULT_PORTS,
                 teredo_ports: frozenset[int] = teredo.DEFAULT_PORTS) -> None:
        self.stats: dict[str, int] = dict.fromkeys(STAT_NAMES, 0)
        self.fragments = FragmentTable(self.stats, timeout=frag_timeout,
                                       max_bytes=frag_max_bytes,
                                       max_datagrams=frag_max_datagrams)
        self.vxlan_ports = frozenset(vxlan_ports)
        self.geneve_ports = frozenset(geneve_ports)
        self.teredo_ports = frozenset(teredo_ports)
        # the UDP ports the fast path must leave to the general one (tunnels)
        self._tunnel_ports = self.vxlan_ports | self.geneve_ports | self.teredo_ports
        self._emitted: list[Packet] | None = None   # decode_all's packets before the last
        self.fast_path = True       # tests switch it off to compare with the general path

    def decode(self, ts: float, frame: bytes, linktype: int, iface: str | None = None,
               num: int = 0) -> Packet | None:
        """Decode one frame; None when it is dropped (see the module policies) or held."""
        pkt = Packet(ts, frame, linktype, iface, num)
        if self.fast_path and linktype == LINKTYPE_ETHERNET and frame[12:14] == b"\x08\x00":
            if ethernet_ipv4(pkt, frame, self._tunnel_ports):
                self.stats["decoded"] += 1
                return pkt
        return self._general(pkt, frame, linktype)

    def decode_all(self, ts: float, frame: bytes, linktype: int, iface: str | None = None,
                   num: int = 0) -> list[Packet]:
        """Every packet of one frame to inspect, in Suricata's order (see the module doc):
        fragments before their datagram, a tunnel's outer packet before the inner one."""
        pkt = Packet(ts, frame, linktype, iface, num)
        if self.fast_path and linktype == LINKTYPE_ETHERNET and frame[12:14] == b"\x08\x00":
            if ethernet_ipv4(pkt, frame, self._tunnel_ports):
                self.stats["decoded"] += 1
                return [pkt]
        emitted = self._emitted = []
        try:
            last = self._general(pkt, frame, linktype)
        finally:
            self._emitted = None
        if last is not None:
            emitted.append(last)
        return emitted

    def _general(self, pkt: Packet, frame: bytes, linktype: int) -> Packet | None:
        stats = self.stats
        try:
            link = LINK_PARSERS.get(linktype)
            if link is None:
                stats["unsupported_linktype"] += 1
                stats["non_ip"] += 1
                stats["decoded"] += 1
                return pkt
            ethertype, off = link(frame, 0)
            if ethertype in vlan.TAG_TYPES:
                pkt.vlan, ethertype, off = vlan.parse_stack(frame, ethertype, off)
            result = self._network(pkt, frame, ethertype, off, len(frame))
        except Truncated:
            stats["truncated"] += 1
            return None
        except DecodeError:
            stats["malformed"] += 1
            return None
        except Exception:               # a decoder bug must not stop the capture
            stats["internal_errors"] += 1
            return None
        if result is not None:
            stats["decoded"] += 1
        return result

    def expire(self, now: float) -> None:
        """Drop fragment state older than the timeout (e.g. on an idle capture's clock)."""
        self.fragments.expire(now)

    def _network(self, pkt: Packet, buf: bytes, ethertype: int, off: int,
                 end: int) -> Packet | None:
        if ethertype in SHIM_PARSERS:
            ethertype, off = self._unshim(pkt, buf, ethertype, off, end)
        if ethertype == ETH_P_IPV4:
            proto, off, end, frag = ipv4.parse(pkt, buf, off, end)
            if frag & 0x3FFF:
                self._emit_fragment(pkt, proto)
                buf = self._defrag_ipv4(pkt, buf, proto, off, end, frag)
                if buf is None:
                    return None
                proto, off, end, _ = ipv4.parse(pkt, buf, 0, len(buf))
                pkt.defragmented = True
        elif ethertype == ETH_P_IPV6:
            proto, off, end, frag = ipv6.parse(pkt, buf, off, end)
            if frag is not None:
                self._emit_fragment(pkt, PROTO_IPV6_FRAGMENT)
                buf = self._defrag_ipv6(pkt, buf, off, end, frag)
                if buf is None:
                    return None
                proto, off, end = pkt.ip_proto, 0, len(buf)
        else:
            self.stats["non_ip"] += 1
            return pkt
        transport = TRANSPORT_PARSERS.get(proto)
        if transport is not None:
            transport(pkt, buf, off, end)
            if proto == PROTO_UDP:
                return self._udp_tunnel(pkt, buf, off + udp.HEADER_LEN, end)
            return pkt
        tunnel = IP_TUNNELS.get(proto)
        if tunnel is not None and not (proto == PROTO_IPIP and ethertype == ETH_P_IPV4):
            name, inner_type = tunnel
            if not inner_type:
                try:
                    inner_type, off = gre.parse(buf, off, end)
                except DecodeError:
                    self.stats["tunnel_errors"] += 1
                    return pkt
            return self._decapsulate(pkt, buf, name, inner_type, off, end)
        if proto == PROTO_ESP and end - off >= ESP_HEADER_LEN:
            pkt.payload = buf[off + ESP_HEADER_LEN:end]
        return pkt

    def _udp_tunnel(self, pkt: Packet, buf: bytes, off: int, end: int) -> Packet | None:
        """Follow VXLAN, Geneve or Teredo inside the UDP datagram at `off` (its payload)."""
        if pkt.dport in self.teredo_ports or pkt.sport in self.teredo_ports:
            inner = teredo.inner_offset(buf, off, off + len(pkt.payload))
            if inner is not None:
                return self._decapsulate(pkt, buf, "teredo", ETH_P_IPV6, inner, end)
        if pkt.dport in self.vxlan_ports:
            inner = vxlan.inner_offset(buf, off, end)
            if inner is not None:
                return self._decapsulate(pkt, buf, "vxlan", ETH_P_TEB, inner, end)
        if pkt.dport in self.geneve_ports or pkt.sport in self.geneve_ports:
            found = geneve.inner(buf, off, end)
            if found is not None:
                return self._decapsulate(pkt, buf, "geneve", found[0], found[1], end)
        return pkt

    def _unshim(self, pkt: Packet, buf: bytes, ethertype: int, off: int,
                end: int) -> tuple[int, int]:
        """Skip MPLS and PPPoE (and an Ethernet pseudowire in MPLS) down to what they carry."""
        for _ in range(MAX_SHIM_DEPTH):
            ethertype, off = SHIM_PARSERS[ethertype](buf, off, end)
            if ethertype == ETH_P_TEB:
                ethertype, off = ethernet.parse(buf[:end], off)
                if ethertype in vlan.TAG_TYPES:
                    vids, ethertype, off = vlan.parse_stack(buf, ethertype, off)
                    pkt.vlan = pkt.vlan + vids
            if ethertype not in SHIM_PARSERS:
                return ethertype, off
        raise Malformed("shim layers nested too deep")

    def _emit_fragment(self, pkt: Packet, proto: int) -> None:
        """For decode_all: the fragment as a packet of its own (IP header only)."""
        if self._emitted is not None:
            self._emitted.append(replace(pkt, ip_proto=proto, is_fragment=True))

    def _decapsulate(self, outer: Packet, buf: bytes, name: str, ethertype: int, off: int,
                     end: int) -> Packet | None:
        """Decode the inner packet; fall back to the outer one if the inner is not usable IP.

        For decode_all, the outer packet (its payload emptied) goes before whatever the inner
        pass emitted (inner fragments) once the inner is known to be IP.
        """
        if len(outer.tunnels) >= MAX_TUNNEL_DEPTH or not ethertype:
            return outer
        emitted = self._emitted
        mark = len(emitted) if emitted is not None else 0
        inner = Packet(outer.ts, outer.frame, outer.linktype, outer.iface, outer.num)
        inner.tunnels = outer.tunnels + (name,)
        inner.vlan = outer.vlan
        try:
            if ethertype == ETH_P_TEB:
                ethertype, off = ethernet.parse(buf[:end], off)
                if ethertype in vlan.TAG_TYPES:
                    vids, ethertype, off = vlan.parse_stack(buf, ethertype, off)
                    inner.vlan = outer.vlan + vids
            result = self._network(inner, buf, ethertype, off, end)
        except DecodeError:
            self.stats["tunnel_errors"] += 1
            if emitted is not None:
                del emitted[mark:]
            return outer
        if result is not None and not result.ip_version:
            self.stats["non_ip"] -= 1       # counted by the inner pass; the outer is IP
            if emitted is not None:
                del emitted[mark:]
            return outer
        if emitted is not None:
            emitted.insert(mark, replace(outer, payload=b"", tunnel_outer=True))
        if result is None:
            return None                     # an inner fragment is waiting for its siblings
        self.stats["tunneled"] += 1
        return result

    def _defrag_ipv4(self, pkt: Packet, buf: bytes, proto: int, off: int, end: int,
                     frag: int) -> bytes | None:
        key = (4, pkt.src, pkt.dst, pkt.ip_id, proto, pkt.vlan, pkt.tunnels)
        done = self.fragments.add(key, pkt.ts, pkt.frag_offset, buf[off:end],
                                  bool(frag & ipv4.FLAG_MF), pkt.ip_header)
        if done is None:
            return None
        first_header, payload = done
        return ipv4.rebuild(first_header, payload)

    def _defrag_ipv6(self, pkt: Packet, buf: bytes, off: int, end: int,
                     frag: tuple) -> bytes | None:
        offset, more, ident, next_header = frag
        key = (6, pkt.src, pkt.dst, ident, pkt.vlan, pkt.tunnels)
        done = self.fragments.add(key, pkt.ts, offset, buf[off:end], more, next_header)
        if done is None:
            return None
        first_next_header, payload = done
        proto, start, nested = ipv6.walk_extensions(payload, first_next_header, 0, len(payload))
        if nested is not None:
            raise Malformed("ipv6: fragment inside a reassembled datagram")
        pkt.ip_proto = proto
        pkt.ip_len = ipv6.HEADER_LEN + len(payload)
        pkt.frag_offset = 0
        pkt.ip_flags = 0
        pkt.defragmented = True
        return payload[start:]


__all__ = ["Decoder", "LINK_PARSERS", "TRANSPORT_PARSERS", "IP_TUNNELS", "SHIM_PARSERS",
           "STAT_NAMES", "MAX_TUNNEL_DEPTH", "MAX_SHIM_DEPTH"]
