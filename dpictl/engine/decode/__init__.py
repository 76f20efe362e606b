"""Frame decoders: link, VLAN, MPLS/PPPoE, IPv4/IPv6 (with defragmentation), TCP/UDP/ICMP,
tunnels (VXLAN, Geneve, GRE, IP-in-IP) -> `Packet`s.

`Decoder` (decoder.py) is the entry point and holds the dispatch tables; each other module
decodes one protocol.
"""

from dpictl.engine.decode.decoder import Decoder, STAT_NAMES
from dpictl.engine.decode.errors import DecodeError, Malformed, Truncated

__all__ = ["Decoder", "STAT_NAMES", "DecodeError", "Malformed", "Truncated"]
