"""DCE/RPC over UDP (connectionless PDUs, version 4): calls and their stub data.

Each datagram is one PDU with an 80-byte header that names the interface, the activity
and sequence number (together, the call) and the operation; fragments of a call are
joined, bounded by `dcerpc.MAX_STUB`, and the call is inspected once its last fragment arrived.

Suricata 7.0.10, the oracle, only ever matches `dce_stub_data` on these calls: its
`dce_iface` and `dce_opnum` never match DCE/RPC over UDP (measured with probe rules on
crafted requests: interface, opnum and both together never alert while a stub content
on the same PDU does), so the community's five NCADG-IP-UDP rules, which all start with
`dce_iface`, never fire there. `DceInspection` follows that (see `UDP_CARRIER`).
"""

from __future__ import annotations

import struct

from dpictl.engine.app.dcerpc import CallTable, DceEvent

UDP_CARRIER = "dcerpc-udp"
CL_HEADER = 80
_REQUEST, _RESPONSE = 0, 2
_FRAG, _LASTFRAG = 0x04, 0x02


def looks_like_dcerpc_udp(payload: bytes) -> bool:
    """Version 4, a known PDU type and a sane data representation."""
    return (len(payload) >= CL_HEADER and payload[0] == 4 and payload[1] <= 10
            and payload[4] & 0xEE == 0 and payload[5] <= 3)


class _NoIfaces:
    """dce_iface never matches over UDP (see the module docstring)."""

    __slots__ = ()

    def match(self, event: DceEvent, iface: bytes, version_ok, any_frag: bool) -> bool:
        return False


_NO_IFACES = _NoIfaces()


class DceUdpState:
    """The DCE/RPC calls of one UDP flow."""

    carrier = UDP_CARRIER

    def __init__(self) -> None:
        self._calls = CallTable()

    def feed(self, payload: bytes, to_server: bool) -> list[DceEvent]:
        if not looks_like_dcerpc_udp(payload):
            return []
        ptype, flags = payload[1], payload[2]
        if ptype not in (_REQUEST, _RESPONSE):
            return []
        little = bool(payload[4] & 0x10)
        e = "<" if little else ">"
        seqnum, opnum = struct.unpack_from(e + "IH", payload, 64)
        length = struct.unpack_from(e + "H", payload, 74)[0]
        key = (payload[40:56], seqnum)
        call = self._calls.get(key)
        if call is None:
            call = self._calls.new(key, seqnum)
            call.little = little
        request = ptype == _REQUEST
        if request:
            call.opnum, call.request_seen = opnum, True
        self._calls.add_stub(call, memoryview(payload)[CL_HEADER:CL_HEADER + length], request)
        if flags & _FRAG and not flags & _LASTFRAG:
            return []
        if request:
            call.request_done = True
        else:
            call.tc_inspected = True
        # the stub goes by PDU type, the inspection by the packet's direction (Suricata)
        return [DceEvent(call, to_server, True, _NO_IFACES, UDP_CARRIER)]


__all__ = ["DceUdpState", "looks_like_dcerpc_udp", "UDP_CARRIER"]
