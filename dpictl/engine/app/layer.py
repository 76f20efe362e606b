"""The app layer of each flow: buffer the first bytes, decide the protocol, feed its parser.

`flow.app_proto` is None while undecided, "http" once HTTP was recognised in either direction,
"smtp" once the client opened with EHLO/HELO, "tls" once either side sent a TLS record,
"failed" when neither direction looks like a protocol we parse (Suricata's ALPROTO_FAILED):
after that the flow's bytes are only for stream rules. `flow.app` holds the parser state (for
TLS a `TlsState`, which the engine has parse acknowledged bytes only: see
`dpictl.engine.detect.tls_inspection`).

How the engine drives it, per TCP packet (`flow.streams` is None for untracked flows)::

    flow, to_server = table.lookup(pkt)
    stream = flow.streams[to_server]
    data = stream.add(pkt)                       # new in-order bytes, b"" if none
    if data:
        events = app.feed(flow, data, to_server, pkt.ts, stream.holes)
    for gone in table.pop_evicted():             # and table.drain() at end of input
        for d in (True, False):
            rest = gone.streams[d].flush()       # skips holes, releases memory
            events += app.feed(gone, rest, d, ts, gone.streams[d].holes)
        events += app.finish(gone, ts)

Each event says which transaction became inspectable for what: see
`dpictl.engine.http.transaction` for the kinds and `HttpTransaction.get()` for the buffers;
SMTP flows give `dpictl.engine.app.smtp.SmtpEvent`s (decoded MIME parts) instead.
Events must be handled before the next `feed` (buffers of a transaction keep filling in place).
"""

from __future__ import annotations

from dpictl.engine.app.dcerpc import DceTcpState, looks_like_dcerpc
from dpictl.engine.app.detect import MATCH, NEED_MORE, NO_MATCH, probe_http, probe_smtp, probe_tls
from dpictl.engine.app.smb import SmbState, probe_smb
from dpictl.engine.app.smtp import SmtpEvent, SmtpLimits, SmtpParser
from dpictl.engine.app.tls import TlsState
from dpictl.engine.flow_table import Flow
from dpictl.engine.http import HttpEvent, HttpLimits, HttpParser

APP_HTTP = "http"
APP_SMTP = "smtp"
APP_SMB, APP_DCERPC = "smb", "dcerpc"
APP_TLS = "tls"
_PARSED = (APP_HTTP, APP_SMTP, APP_SMB, APP_DCERPC)
APP_FAILED = "failed"
_MAX_UNDECIDED = 4096      # bytes per direction held while the protocol is undecided


class _Pending:
    """Bytes seen before the protocol was known, per direction ([to_client, to_server])."""

    __slots__ = ("data", "verdict")

    def __init__(self) -> None:
        self.data = [b"", b""]
        self.verdict = [0, 0]


class AppLayer:
    """Stateless driver (state lives on the flows); one per engine."""

    def __init__(self, http_limits: HttpLimits | None = None,
                 smtp_limits: SmtpLimits | None = None, dce: bool = True) -> None:
        self.http_limits = http_limits or HttpLimits()
        self.smtp_limits = smtp_limits or SmtpLimits()
        self.dce = dce          # recognise SMB and DCE/RPC (off: no rule would read them)

    def feed(self, flow: Flow, data: bytes, to_server: bool, ts: float,
             holes: list[tuple[int, int]] | tuple = ()) -> list[HttpEvent | SmtpEvent]:
        """Give the app layer the next in-order bytes of one direction of a TCP flow.

        `holes` is the reassembler's `holes` for these bytes: (index, bytes missing there).
        """
        if holes:
            return self._feed_with_holes(flow, data, to_server, ts, holes)
        proto = flow.app_proto
        if proto in _PARSED:
            return flow.app.feed(data, to_server, ts)
        if proto == APP_TLS:
            flow.app.queue(to_server, data, _end_seq(flow, to_server))
            return []
        if proto is not None or not data:
            return []
        pending = flow.app
        if pending is None:
            pending = flow.app = _Pending()
        d = 1 if to_server else 0
        if pending.verdict[d] == NO_MATCH:
            return []                        # this side already said no; wait for the other
        buf = pending.data[d] = pending.data[d] + data
        tls = probe_tls(buf, to_server, flow.server_port)
        if tls == MATCH:
            return self._start_tls(flow, pending, to_server)
        smtp = probe_smtp(buf, to_server) if to_server else NO_MATCH
        if smtp == MATCH:
            return self._start(flow, pending, to_server, ts, APP_SMTP)
        binary = _probe_binary(buf) if self.dce else False    # SMB or DCE/RPC
        if binary:
            return self._start(flow, pending, to_server, ts, binary)
        verdict = probe_http(buf, to_server)
        if verdict == NO_MATCH and (NEED_MORE in (smtp, tls) or binary is None):
            verdict = NEED_MORE
        if verdict == NEED_MORE and len(buf) > _MAX_UNDECIDED:
            verdict = NO_MATCH
        pending.verdict[d] = verdict
        if verdict == MATCH:
            return self._start(flow, pending, to_server, ts, APP_HTTP)
        if verdict == NO_MATCH:
            pending.data[d] = b""
            if to_server or pending.verdict[1] == NO_MATCH:
                flow.app_proto, flow.app = APP_FAILED, None
        return []

    def finish(self, flow: Flow, ts: float,
               to_server: bool | None = None) -> list[HttpEvent | SmtpEvent]:
        """A direction (both when None) of the flow ended: complete open messages."""
        if flow.app_proto in _PARSED:
            return flow.app.finish(ts, to_server)
        return []

    def _feed_with_holes(self, flow: Flow, data: bytes, to_server: bool, ts: float,
                         holes: list[tuple[int, int]] | tuple) -> list[HttpEvent | SmtpEvent]:
        events: list[HttpEvent | SmtpEvent] = []
        start = 0
        for at, missing in holes:
            events += self.feed(flow, data[start:at], to_server, ts)
            start = at
            if flow.app_proto in _PARSED:
                events += flow.app.gap(missing, to_server)
            elif flow.app_proto == APP_TLS:
                flow.app.gap(to_server)
            elif flow.app_proto is None:
                flow.app_proto, flow.app = APP_FAILED, None     # cannot detect across a hole
        return events + self.feed(flow, data[start:], to_server, ts)

    def _start_tls(self, flow: Flow, pending: _Pending, to_server: bool) -> list:
        """Hand what each direction sent so far to a new TlsState (parsed once acked)."""
        state = TlsState()
        flow.app_proto, flow.app = APP_TLS, state
        for d in ((1, 0) if to_server else (0, 1)):
            if pending.data[d]:
                state.queue(d == 1, pending.data[d], _end_seq(flow, d == 1))
        return []

    def _start(self, flow: Flow, pending: _Pending, to_server: bool, ts: float,
               proto: str) -> list[HttpEvent | SmtpEvent]:
        parser = (HttpParser(self.http_limits) if proto == APP_HTTP
                  else SmtpParser(self.smtp_limits) if proto == APP_SMTP
                  else SmbState() if proto == APP_SMB else DceTcpState())
        flow.app_proto, flow.app = proto, parser
        events = []
        # Replay what each direction sent so far, the detecting direction first.
        for d in ((1, 0) if to_server else (0, 1)):
            if pending.data[d]:
                events += parser.feed(pending.data[d], d == 1, ts)
        return events


def _probe_binary(prefix: bytes) -> str | bool | None:
    """APP_SMB or APP_DCERPC when the stream starts like one (Suricata: NBSS + SMB
    signature; a DCE/RPC 5.0 header), None while too short to tell, else False."""
    smb = probe_smb(prefix)
    if smb:
        return APP_SMB
    dce = looks_like_dcerpc(prefix)
    if dce:
        return APP_DCERPC
    return None if smb is None or dce is None else False


def _end_seq(flow: Flow, to_server: bool) -> int | None:
    """Where the bytes just reassembled end (what the peer's ACK will name)."""
    streams = flow.streams
    return streams[to_server].next_seq if streams is not None else None


__all__ = ["AppLayer", "APP_HTTP", "APP_SMTP", "APP_SMB", "APP_DCERPC", "APP_TLS", "APP_FAILED"]
