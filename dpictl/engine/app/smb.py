"""SMB1/SMB2 over NetBIOS session framing, followed as far as DCE/RPC on named pipes.

Only what carries DCE/RPC is parsed, the way Suricata 7 (the oracle) does it:

- SMB2: TREE_CONNECT (a share of type pipe), CREATE (the pipe's name by file id), WRITE
  and READ on a pipe, IOCTL FSCTL_PIPE_TRANSCEIVE; SMB1: TREE_CONNECT_ANDX (service
  "IPC"), NT_CREATE_ANDX, WRITE_ANDX, READ_ANDX and TRANS (TransactNmPipe).
- A pipe counts as DCE/RPC when its name is one of the RPC services Suricata knows
  (`_DCERPC_PIPES`), or, when the tree connect was not seen, when the data looks like a
  DCE/RPC PDU.
- The interfaces `dce_iface` matches over SMB are those of the last bind seen on the
  connection (any pipe), acknowledged by its bind_ack; the context id is not compared.
  Alter_context does not change them.
- One DCE/RPC PDU per write/read: the first in the data. Request fragments of one call
  (same session, tree and call id) add to the call's stub until its last fragment.

Records are reassembled from the byte stream up to `MAX_RECORD` bytes; a longer record
(a large file write) is skipped without being held.
"""

from __future__ import annotations

import re
import struct

from dpictl.engine.app.dcerpc import (BIND, BIND_ACK, REQUEST, RESPONSE, CallTable, DceCall,
                                      DceEvent, parse_ack_results, parse_co_header,
                                      parse_contexts)

MAX_RECORD = 1 << 20
MAX_NAMES = 1024            # file ids, trees and pending reads remembered per connection

_DCERPC_PIPES = frozenset({"svcctl", "srvsvc", "atsvc", "lsarpc", "samr", "spoolss",
                           "winreg", "suricata::dcerpc"})
_PROBE_NAME = "suricata::dcerpc"     # a pipe recognised by its data, not by its name
_STATUS_SUCCESS, _STATUS_BUFFER_OVERFLOW = 0, 0x80000005
_FSCTL_PIPE_TRANSCEIVE = 0x0011C017

# SMB2 commands
_TREE_CONNECT, _CREATE, _READ, _WRITE, _IOCTL = 3, 5, 8, 9, 11
# SMB1 commands
_TRANS, _READ_ANDX, _WRITE_ANDX, _TREE_CONNECT_ANDX, _NT_CREATE_ANDX = (
    0x25, 0x2E, 0x2F, 0x75, 0xA2)
_SMB_SIGNATURE = re.compile(rb"[\xfd\xfe\xff]SMB")
_SMB2_COMMANDS = frozenset({_TREE_CONNECT, _CREATE, _READ, _WRITE, _IOCTL})
_SMB1_COMMANDS = frozenset({_TRANS, _READ_ANDX, _WRITE_ANDX, _TREE_CONNECT_ANDX,
                            _NT_CREATE_ANDX})


def probe_smb(prefix: bytes) -> bool | None:
    """NetBIOS session records (session request/response, keep-alive skipped) whose first
    session message carries SMB1/2/3; None: not enough bytes yet."""
    pos = 0
    while True:
        if len(prefix) < pos + 8:
            kind = prefix[pos:pos + 1]
            return None if kind in (b"", b"\x00", b"\x81", b"\x82", b"\x85") else False
        kind = prefix[pos]
        if kind == 0:
            return prefix[pos + 5:pos + 8] == b"SMB" and prefix[pos + 4] in (0xFF, 0xFE, 0xFD)
        if kind not in (0x81, 0x82, 0x85) or pos > 512:
            return False
        pos += 4 + ((prefix[pos + 1] << 16) | (prefix[pos + 2] << 8) | prefix[pos + 3])


def _bounded_put(table: dict, key, value) -> None:
    if len(table) >= MAX_NAMES:
        table.pop(next(iter(table)))
    table[key] = value


def _utf16(raw: bytes) -> str:
    """A name as Suricata keys it: the UTF-16 bytes with the NULs dropped."""
    return bytes(b for b in raw if b).decode("latin-1")


def _service_of(name: str | None) -> bool:
    if name is None:
        return False
    if len(name) > 1 and name[0] == "\\":
        name = name[1:]
    return name in _DCERPC_PIPES


def _looks_like_dce(data: bytes) -> bool:
    """Suricata's smb_dcerpc_probe: version 5, minor < 3, a length, a known PDU type."""
    return (len(data) >= 16 and data[0] == 5 and data[1] < 3 and data[2] <= 20
            and parse_co_header(data) is not None and parse_co_header(data).frag_len > 0)


class SmbIfaces:
    """Interfaces of the last bind on the connection, with their bind_ack results."""

    __slots__ = ("items",)

    def __init__(self) -> None:
        self.items: list = []            # dcerpc.Context

    def match(self, event: DceEvent, iface: bytes, version_ok, any_frag: bool) -> bool:
        return any(ctx.result == 0 and ctx.uuid == iface and version_ok(ctx.version)
                   for ctx in self.items)


class SmbState:
    """One SMB connection: NBSS records per direction, pipes, DCE/RPC calls."""

    carrier = "smb"

    def __init__(self) -> None:
        self._buf = [bytearray(), bytearray()]
        self._need = [0, 0]            # bytes a pending record needs before parsing
        self._lost = [False, False]    # after a gap: looking for the next SMB header
        self._tail = [b"", b""]
        self._skip = [0, 0]
        self._failed = False
        self.ifaces = SmbIfaces()
        self._trees: dict[tuple, bool] = {}            # (session, tree) -> is a pipe
        self._names: dict[tuple, str] = {}             # file id -> pipe/file name
        self._pending: dict[tuple, object] = {}        # request key -> name or file id
        self._partial: dict[tuple, bytes] = {}         # BUFFER_OVERFLOW reads
        self._calls = CallTable()
        self._events: list[DceEvent] = []

    # -- stream -------------------------------------------------------------------------
    def feed(self, data: bytes, to_server: bool, ts: float = 0.0) -> list[DceEvent]:
        if self._failed or not data:
            return []
        d = int(to_server)
        if self._lost[d]:
            data = self._resync(d, data)
            if not data:
                return []
        skip = self._skip[d]
        if skip:
            if len(data) <= skip:
                self._skip[d] = skip - len(data)
                return []
            data, self._skip[d] = data[skip:], 0
        buf = self._buf[d]
        if buf:
            # a record is pending: collect until it is complete (amortised appends),
            # then parse from one copy
            buf += data
            if len(buf) < self._need[d]:
                return []
            data = bytes(buf)
            self._buf[d] = bytearray()
        view = memoryview(data)
        pos, end = 0, len(data)
        while end - pos >= 4:
            kind = view[pos]
            length = (view[pos + 1] << 16) | (view[pos + 2] << 8) | view[pos + 3]
            if kind not in (0x00, 0x81, 0x82, 0x83, 0x84, 0x85):    # not NetBIOS session
                self._stop()
                return self._take_events()
            if length > MAX_RECORD:                 # a large file write: skip it unread
                held = end - pos - 4
                self._skip[d] = max(0, length - held)
                pos += 4 + min(length, held)
                continue
            if end - pos < 4 + length:
                break
            record = view[pos + 4:pos + 4 + length]
            pos += 4 + length
            if kind != 0 or not length:              # keep-alive, session request/response
                continue
            try:
                self._record(record, to_server)
            except (struct.error, IndexError, ValueError):
                pass                             # a malformed record: skip it, as Suricata
        if pos < end:
            self._buf[d] = bytearray(view[pos:])
            rest = end - pos
            self._need[d] = 4 if rest < 4 else 4 + (
                (view[pos + 1] << 16) | (view[pos + 2] << 8) | view[pos + 3])
        return self._take_events()

    def _take_events(self) -> list[DceEvent]:
        events, self._events = self._events, []
        return events

    def gap(self, missing: int, to_server: bool) -> list[DceEvent]:
        """Bytes were lost: drop the partial record and, as Suricata does, look for the
        next SMB header (`_resync`) before parsing again."""
        d = int(to_server)
        self._buf[d] = bytearray()
        self._skip[d] = 0
        self._lost[d] = True
        return []

    def _resync(self, d: int, data: bytes) -> bytes:
        """`data` from the first NetBIOS header followed by an SMB signature (the last bytes
        are kept for the next call when none is found)."""
        data = self._tail[d] + data
        for at in _SMB_SIGNATURE.finditer(data, 4):
            if data[at.start() - 4] == 0:            # a NetBIOS session message header
                self._lost[d], self._tail[d] = False, b""
                return data[at.start() - 4:]
        self._tail[d] = data[-7:]
        return b""

    def finish(self, ts: float = 0.0, to_server: bool | None = None) -> list[DceEvent]:
        """The connection ended: requests never answered are inspected to the client (as
        Suricata does at end of stream)."""
        if to_server:
            return []
        return [DceEvent(call, False, True, self.ifaces, self.carrier)
                for call in self._calls.values() if call.request_seen and not call.tc_inspected]

    def _stop(self) -> None:
        self._failed = True
        self._buf = [bytearray(), bytearray()]

    def _record(self, rec: bytes, to_server: bool) -> None:
        if rec[:4] == b"\xfeSMB":
            pos = 0
            while pos + 64 <= len(rec):
                nxt = struct.unpack_from("<I", rec, pos + 20)[0]
                end = pos + nxt if nxt else len(rec)
                if end > len(rec) or (nxt and nxt < 64):
                    end = len(rec)
                self._smb2(rec[pos:end])
                if not nxt or end >= len(rec):
                    break
                pos = end
        elif rec[:4] == b"\xffSMB" and len(rec) >= 33:
            self._smb1(rec)

    # -- SMB2 ---------------------------------------------------------------------------
    def _smb2(self, m: memoryview) -> None:
        """One SMB2 message (a view into the record: keys and names are copied out)."""
        if m[12] not in _SMB2_COMMANDS or m[13]:
            return
        status, command = struct.unpack_from("<IH", m, 8)
        flags = struct.unpack_from("<I", m, 16)[0]
        msg_id = struct.unpack_from("<Q", m, 24)[0]
        tree = 0 if flags & 2 else struct.unpack_from("<I", m, 36)[0]
        session = struct.unpack_from("<Q", m, 40)[0]
        reply = bool(flags & 1)
        body = 64
        if command == _TREE_CONNECT:
            if reply:
                if status == _STATUS_SUCCESS and len(m) >= body + 3:
                    _bounded_put(self._trees, (session, tree), m[body + 2] == 2)
        elif command == _CREATE:
            key = ("create", session, msg_id)
            if not reply:
                off, length = struct.unpack_from("<HH", m, body + 44)
                _bounded_put(self._pending, key, _utf16(m[off:off + length]))
            else:
                name = self._pending.pop(key, None)
                if name is not None and status == _STATUS_SUCCESS and len(m) >= body + 80:
                    _bounded_put(self._names, ("2", bytes(m[body + 64:body + 80])), name)
        elif command == _WRITE and not reply:
            off, length = struct.unpack_from("<HI", m, body + 2)
            guid = bytes(m[body + 16:body + 32])
            data = m[off:off + length]
            if self._smb2_is_dce(session, tree, guid, data):
                self._write(("2", session, tree, 0), data)
        elif command == _READ:
            key = ("read", session, tree, msg_id)
            if not reply:
                _bounded_put(self._pending, key, bytes(m[body + 16:body + 32]))
            else:
                guid = self._pending.pop(key, None)
                if guid is None or len(m) < body + 8:
                    return
                off, length = m[body + 2], struct.unpack_from("<I", m, body + 4)[0]
                data = m[off:off + length]
                if status in (_STATUS_SUCCESS, _STATUS_BUFFER_OVERFLOW) and \
                        self._smb2_is_dce(session, tree, guid, data):
                    self._read(("2", session, tree, 0), guid, status, data)
        elif command == _IOCTL:
            if len(m) < body + 48:
                return
            ctl = struct.unpack_from("<I", m, body + 4)[0]
            guid = bytes(m[body + 8:body + 24])
            if ctl != _FSCTL_PIPE_TRANSCEIVE or not _service_of(self._names.get(("2", guid))):
                return
            if not reply:
                off, length = struct.unpack_from("<II", m, body + 24)
                self._write(("2", session, tree, msg_id), m[off:off + length])
            else:
                off, length = struct.unpack_from("<II", m, body + 32)
                if status in (_STATUS_SUCCESS, _STATUS_BUFFER_OVERFLOW):
                    self._read(("2", session, tree, msg_id), guid, status, m[off:off + length])

    def _smb2_is_dce(self, session: int, tree: int, guid: bytes, data: bytes) -> bool:
        is_pipe = self._trees.get((session, tree))
        if is_pipe is None:                       # tree connect not seen: look at the data
            if not _looks_like_dce(data):
                return False
            _bounded_put(self._trees, (session, tree), True)
            self._names.setdefault(("2", guid), _PROBE_NAME)
            return True
        return is_pipe and _service_of(self._names.get(("2", guid)))

    # -- SMB1 ---------------------------------------------------------------------------
    def _smb1(self, m: memoryview) -> None:
        if m[4] not in _SMB1_COMMANDS:
            return
        command, status, flags = m[4], struct.unpack_from("<I", m, 5)[0], m[9]
        tid, _pid, uid, mid = struct.unpack_from("<HHHH", m, 24)
        reply = bool(flags & 0x80)
        wc = m[32]
        words = 33
        bcc_at = words + 2 * wc
        if command == _TREE_CONNECT_ANDX:
            if reply and status == _STATUS_SUCCESS and wc >= 3 and len(m) > bcc_at + 2:
                service = bytes(m[bcc_at + 2:bcc_at + 2 + 8]).split(b"\x00")[0]
                _bounded_put(self._trees, ("1", uid, tid), service == b"IPC")
        elif command == _NT_CREATE_ANDX:
            key = ("create1", uid, tid, mid)
            if not reply and wc >= 24:
                name_len = struct.unpack_from("<H", m, words + 5)[0]
                raw = m[bcc_at + 2:]
                unicode = struct.unpack_from("<H", m, 10)[0] & 0x8000
                if unicode:
                    raw = raw[1:] if (bcc_at + 2) % 2 else raw      # pad to a 2-byte boundary
                    name = _utf16(raw[:name_len])
                else:
                    name = bytes(raw[:name_len]).split(b"\x00")[0].decode("latin-1")
                _bounded_put(self._pending, key, name)
            elif reply:
                name = self._pending.pop(key, None)
                if name is not None and status == _STATUS_SUCCESS and wc >= 3:
                    fid = bytes(m[words + 5:words + 7])
                    _bounded_put(self._names, ("1", uid, fid), name)
        elif command == _WRITE_ANDX and not reply and wc >= 12:
            fid = bytes(m[words + 4:words + 6])
            high, length, off = struct.unpack_from("<HHH", m, words + 18)
            length |= high << 16
            data = m[off:off + length]
            if self._smb1_is_dce(uid, tid, fid, data):
                self._write(("1", uid, tid, 0), data)
        elif command == _READ_ANDX:
            key = ("read1", uid, tid, mid)
            if not reply and wc >= 10:
                _bounded_put(self._pending, key, bytes(m[words + 4:words + 6]))
            elif reply:
                fid = self._pending.pop(key, None)
                if fid is None or wc < 12:
                    return
                length, off = struct.unpack_from("<HH", m, words + 10)
                data = m[off:off + length]
                if status in (_STATUS_SUCCESS, _STATUS_BUFFER_OVERFLOW) and \
                        self._smb1_is_dce(uid, tid, fid, data):
                    self._read(("1", uid, tid, 0), fid, status, data)
        elif command == _TRANS:
            key = ("trans1", uid, tid, mid)
            if not reply and wc >= 16:
                data_count, data_off = struct.unpack_from("<HH", m, words + 22)
                setup_count = m[words + 26]
                if setup_count < 2:
                    return
                function, fid = struct.unpack_from("<H2s", m, words + 28)   # fid: bytes
                if function != 0x26:                       # TransactNmPipe
                    return
                data = m[data_off:data_off + data_count]
                if self._smb1_is_dce(uid, tid, fid, data):
                    _bounded_put(self._pending, key, fid)
                    self._write(("1", uid, tid, 0), data)
            elif reply and wc >= 10:
                fid = self._pending.pop(key, None)
                if fid is None:
                    return
                data_count, data_off = struct.unpack_from("<HH", m, words + 12)
                if status in (_STATUS_SUCCESS, _STATUS_BUFFER_OVERFLOW):
                    self._read(("1", uid, tid, 0), fid, status, m[data_off:data_off + data_count])

    def _smb1_is_dce(self, uid: int, tid: int, fid: bytes, data: bytes) -> bool:
        is_pipe = self._trees.get(("1", uid, tid))
        if is_pipe is None:
            if not _looks_like_dce(data):
                return False
            _bounded_put(self._trees, ("1", uid, tid), True)
            self._names.setdefault(("1", uid, fid), _PROBE_NAME)
            return True
        return is_pipe and _service_of(self._names.get(("1", uid, fid)))

    # -- DCE/RPC on a pipe --------------------------------------------------------------
    def _new_call(self, key: tuple) -> DceCall:
        return self._calls.new(key, key[-1])

    def _write(self, where: tuple, data: bytes) -> None:
        hdr = parse_co_header(data)
        if hdr is None:
            return
        key = (*where, hdr.call_id)
        if hdr.ptype == REQUEST and not hdr.first:
            call = self._calls.get(key)
            if call is None or hdr.frag_len < 24 or len(data) < hdr.frag_len:
                return
            self._calls.add_stub(call, memoryview(data)[24:hdr.frag_len], True)
            call.request_done = hdr.last
            self._events.append(DceEvent(call, True, hdr.last, self.ifaces, self.carrier))
            return
        call = self._new_call(key)
        if hdr.ptype == REQUEST:
            call.request_seen = True
            call.little = hdr.little
            if hdr.frag_len >= 24 and len(data) >= hdr.frag_len:
                call.ctx_id, call.opnum = struct.unpack_from("<HH" if hdr.little else ">HH",
                                                             data, 20)
                self._calls.add_stub(call, memoryview(data)[24:hdr.frag_len], True)
                call.request_done = hdr.last
            else:
                call.request_done = True          # malformed: Suricata closes the request
            self._events.append(DceEvent(call, True, call.request_done, self.ifaces,
                                         self.carrier))
        elif hdr.ptype == BIND:
            self.ifaces.items = parse_contexts(memoryview(data)[16:], hdr.little, hdr.first)
            call.request_done = True
        else:
            call.request_done = True

    def _read(self, where: tuple, fid: bytes, status: int, data: bytes) -> None:
        cache_key = (where[0], where[1], where[2], bytes(fid))
        data = self._partial.pop(cache_key, b"") + data
        hdr = parse_co_header(data)
        if hdr is None:
            return
        if status == _STATUS_BUFFER_OVERFLOW and len(data) < hdr.frag_len:
            if len(data) <= MAX_RECORD:
                _bounded_put(self._partial, cache_key, data)
            return
        key = (*where, hdr.call_id)
        if hdr.ptype == BIND_ACK:
            if self._calls.get(key) is not None:
                # Suricata reads a bind_ack on a pipe little-endian whatever its header says
                results = parse_ack_results(memoryview(data)[16:], True)
                for ctx, result in zip(self.ifaces.items, results):
                    ctx.result = result
            return
        call = self._calls.get(key)
        if call is None:
            call = self._new_call(key)             # the request was missed
        if hdr.ptype == RESPONSE and hdr.frag_len >= 24 and len(data) >= hdr.frag_len:
            self._calls.add_stub(call, memoryview(data)[24:hdr.frag_len], False)
            call.tc_inspected = True
            self._events.append(DceEvent(call, False, hdr.last, self.ifaces, self.carrier))


__all__ = ["SmbState", "SmbIfaces", "probe_smb", "MAX_RECORD"]
