"""PPPoE (RFC 2516): PPP frames in Ethernet, EtherType 0x8864 (session) and 0x8863 (discovery).

A session frame is a 6-byte header (version and type, both 1; code 0; session id; payload
length) and a 2-byte PPP protocol number: 0x0021 IPv4, 0x0057 IPv6, and 0x002F (Van Jacobson
uncompressed TCP/IP), which still holds a plain IPv4 header. The IP packet is what Suricata's
decode-pppoe.c inspects, and so do we; control protocols (LCP, IPCP, PAP, CHAP...) and
discovery frames (PADI, PADO...) carry no IP and give a packet with no IP layer. As in
Suricata, a session frame announcing a payload length of 0 carries nothing.
"""

from __future__ import annotations

import struct

from dpictl.engine.decode.errors import Truncated

ETH_P_PPPOE_DISCOVERY = 0x8863
ETH_P_PPPOE_SESSION = 0x8864
SESSION_HEADER_LEN = 8                 # PPPoE header (6) + PPP protocol (2)
PPP_IPV4 = 0x0021
PPP_VJ_UNCOMPRESSED = 0x002F
PPP_IPV6 = 0x0057
_HEADER = struct.Struct("!BBHHH")
_TO_ETHERTYPE = {PPP_IPV4: 0x0800, PPP_VJ_UNCOMPRESSED: 0x0800, PPP_IPV6: 0x86DD}


def parse_session(buf: bytes, off: int, end: int) -> tuple[int, int]:
    """Return (EtherType of the PPP payload or 0, its offset) for a session frame at `off`."""
    if end - off < SESSION_HEADER_LEN:
        raise Truncated("pppoe")
    _vertype, _code, _session, length, protocol = _HEADER.unpack_from(buf, off)
    if not length:
        return 0, off + SESSION_HEADER_LEN
    ethertype = _TO_ETHERTYPE.get(protocol, 0)
    if ethertype and protocol == PPP_VJ_UNCOMPRESSED and (
            end - off <= SESSION_HEADER_LEN or buf[off + SESSION_HEADER_LEN] >> 4 != 4):
        ethertype = 0
    return ethertype, off + SESSION_HEADER_LEN


__all__ = ["parse_session", "ETH_P_PPPOE_DISCOVERY", "ETH_P_PPPOE_SESSION",
           "SESSION_HEADER_LEN", "PPP_IPV4", "PPP_VJ_UNCOMPRESSED", "PPP_IPV6"]
