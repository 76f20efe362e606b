"""DCE/RPC calls -> the signatures that use dce_iface, dce_opnum or dce_stub_data.

The app layer turns DCE/RPC on TCP and on SMB named pipes into `DceEvent`s (a call gained
data in one direction). Each event runs the DCE/RPC signatures of its transport (a handful:
15 in the community set, so no prefilter) against the call, the way Suricata 7 inspects a
DCE/RPC transaction:

- `dce_iface`: the call is a request and its interface was accepted (see the carrier's
  `ifaces.match`: over TCP the request's context id must be one the last bind_ack
  accepted; over SMB any interface of the last acknowledged bind will do);
- `dce_opnum`: the call is a request with one of the operation numbers;
- `dce_stub_data`: the call's stub data in the event's direction, its fragments joined;
  an empty stub is no buffer. `byte_test/byte_jump ... dce` read it in Suricata's byte
  order (see `_little_seen`).

A signature runs on a call direction until it matched or the direction is complete (over
TCP every request PDU completes its call, as in Suricata: later fragments of one call are
not inspected again; over SMB the last fragment does).
"""

from __future__ import annotations

import dataclasses
from typing import TYPE_CHECKING

from dpictl.engine.app.dcerpc import DceEvent
from dpictl.engine.app.dcerpc_udp import UDP_CARRIER, DceUdpState, looks_like_dcerpc_udp
from dpictl.engine.detect.matcher import chains_ok, conditions_ok, post_match
from dpictl.engine.detect.payload import compile_chain
from dpictl.engine.detect.signature import Chain, Signature
from dpictl.engine.detect.thresholds import ThresholdTable

if TYPE_CHECKING:
    from dpictl.engine.flow_table import Flow

STUB_BUFFER = "dce_stub_data"
_NOT_DCE = object()         # flow.app of a UDP flow whose first datagram was not DCE/RPC
_UDP = 17


def big_endian_variant(sig: Signature) -> Signature | None:
    """The signature with its `dce` byte options reading big-endian (None: it has none)."""
    changed = False
    chains = []
    for chain in sig.chains:
        nodes = [op.node for op in chain.ops]
        flipped = []
        for node in nodes:
            if getattr(node, "dce", False):
                node = dataclasses.replace(node, dce=False, endian="big")
                changed = True
            flipped.append(node)
        chains.append(Chain(chain.buffer, chain.field, compile_chain(flipped)))
    return dataclasses.replace(sig, chains=tuple(chains)) if changed else None


class DceInspection:
    """One per engine; what each call has been through lives on the call itself."""

    def __init__(self, sigs: list[Signature],
                 big_endian: dict[int, Signature | None] | None = None) -> None:
        self._sigs = sorted(sigs, key=lambda s: s.order)
        # compiled with the rules (Detector.dce_big_endian): nothing is compiled on a packet
        self._big = big_endian or {}
        self.active = bool(self._sigs)
        # Byte order of `dce` byte options. Suricata 7.0.10 keeps it as flags on the
        # thread's stub buffer, which a DCE/RPC-over-TCP/UDP call adds to and nothing
        # clears; the SMB stub buffer sets none. So they read big-endian until the first
        # little-endian call of the thread (engine), and little-endian from then on, on
        # every carrier (measured: byte_test ...,dce over SMB reads big-endian in a fresh
        # process and little-endian after a TCP call; a big-endian TCP request after a
        # little-endian one is read little-endian).
        self._little_seen = False
        self._reads_stub = any(c.buffer == STUB_BUFFER for sig in self._sigs for c in sig.chains)
        # UDP datagrams are only looked at when a DCE/RPC signature can run on UDP
        self.udp = any(sig.protos is None or _UDP in sig.protos for sig in self._sigs)

    def inspect(self, event: DceEvent, oriented, flow: Flow,
                thresholds: ThresholdTable) -> list[Signature]:
        call, to_server = event.call, event.to_server
        # the orders of the signatures already run on this call, [to client, to server]
        if call.detect_state is None:
            call.detect_state = (set(), set())
        done = call.detect_state[to_server]
        pkt = oriented(to_server)
        stub = call.stub_ts if to_server else call.stub_tc
        buffers = {STUB_BUFFER: bytes(stub)} if stub else {}
        if stub and self._reads_stub and event.carrier != "smb" and call.little:
            self._little_seen = True
        proto = flow.proto
        out: list[Signature] = []
        for sig in self._sigs:
            order = sig.order
            if order in done or (sig.protos is not None and proto not in sig.protos):
                continue
            if self._matches(sig, event, pkt, flow, buffers):
                done.add(order)
                if post_match(sig, pkt, flow, thresholds):
                    out.append(sig)
            elif event.complete:
                done.add(order)
        return out

    def feed_datagram(self, flow: Flow, payload: bytes, to_server: bool, oriented,
                      thresholds: ThresholdTable) -> list[Signature]:
        """A UDP payload: the flow's first datagram decides whether it is DCE/RPC."""
        state = flow.app
        if state is None:
            if not looks_like_dcerpc_udp(payload):
                flow.app = _NOT_DCE       # app_proto stays None: UDP alerts look as before
                return []
            flow.app_proto, flow.app = "dcerpc", DceUdpState()
            state = flow.app
        elif not isinstance(state, DceUdpState):
            return []
        out: list[Signature] = []
        for event in state.feed(payload, to_server):
            out += self.inspect(event, oriented, flow, thresholds)
        return out

    def _matches(self, sig: Signature, event: DceEvent, pkt, flow: Flow,
                 buffers: dict[str, bytes]) -> bool:
        call = event.call
        kw = sig.dce
        if kw is not None and (kw.ifaces or kw.opnums is not None):
            if not call.request_seen or event.carrier == UDP_CARRIER:
                return False            # Suricata 7.0.10: never over UDP (dcerpc_udp.py)
            if not kw.opnum_ok(call.opnum):
                return False
            for iface in kw.ifaces:
                if not event.ifaces.match(event, iface.uuid, iface.version_ok, iface.any_frag):
                    return False
        if not conditions_ok(sig, pkt, flow, event.to_server):
            return False
        if sig.chains:
            variant = sig if self._little_seen else (self._big.get(sig.order) or sig)
            if not chains_ok(variant, buffers):
                return False
        return True


__all__ = ["DceInspection", "STUB_BUFFER", "big_endian_variant"]
