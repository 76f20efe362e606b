"""Compile a parsed `Rule` into a `Signature`: everything the hot path needs, precomputed.

A rule is compiled once, at Engine construction. Compilation sorts its options into the
places they are evaluated (header, packet checks, flow, per-buffer content chains,
flowbits, threshold), picks the fast pattern for the prefilter, and decides the inspection
kind: a *packet* rule (payload and raw stream), an *app* rule (HTTP transaction buffers)
or a rule that cannot be evaluated, in which case `SignatureRejected` says why.
"""

from __future__ import annotations

from dataclasses import dataclass, field

from dpictl.engine.detect.ftp_bounce import ftp_bounce
from dpictl.engine.detect.dce_keywords import (DCE_KEYWORDS, DceKeywordError, DceKeywords,
                                               compile_dce)
from dpictl.engine.detect.header import (AddressMatcher, PortMatcher, compile_addresses,
                                         compile_ports)
from dpictl.engine.detect.packet_checks import (Check, compile_flags, compile_fragbits,
                                                compile_numeric, is_packet_numeric,
                                                not_rebuilt_fragment, rebuilt_fragment)
from dpictl.engine.detect.payload import Op, compile_chain
from dpictl.engine.detect.regex import RegexError
from dpictl.engine.detect.support import (SERVICE_PROTOCOLS, UNSUPPORTED_BUFFERS,
                                          keyword_decision)
from dpictl.engine.detect.tls_keywords import (TLS_KEYWORDS, TLS_PROTOCOLS, TlsCondition,
                                               TlsKeywordError, parse_tls_keyword)
from dpictl.rules import ast

PACKET_BUFFERS = frozenset({"pkt_data", "raw_data"})
_PROTOS = {"tcp": (6,), "udp": (17,), "icmp": (1, 58), "ip": None}
KIND_PACKET, KIND_APP = "packet", "app"


class SignatureRejected(Exception):
    """The rule cannot be evaluated; the message is the reason shown in the rule report."""


@dataclass(slots=True, eq=False)
class Chain:
    """One buffer's options in rule order. `field` narrows http_header to one header."""

    buffer: str
    field: str | None
    ops: tuple[Op, ...]


@dataclass(slots=True, eq=False)
class Signature:
    rule: ast.Rule
    order: int
    protos: tuple[int, ...] | None           # None: any IP protocol
    app: str | None                           # "http" for app rules
    kind: str
    src: AddressMatcher | None
    dst: AddressMatcher | None
    sports: PortMatcher | None
    dports: PortMatcher | None
    bidirectional: bool
    checks: tuple[Check, ...]
    flow: ast.Flow | None
    chains: tuple[Chain, ...]
    buffer_tests: tuple[ast.NumericTest, ...]   # urilen, bufferlen
    stream_size: tuple[ast.NumericTest, ...]
    flowbit_checks: tuple[ast.Flowbits, ...]
    flowbit_actions: tuple[ast.Flowbits, ...]
    noalert: bool
    threshold: ast.Threshold | None
    detection_filter: ast.Threshold | None
    fast: tuple[str, bytes, bool] | None      # (buffer, pattern, nocase)
    # where a match of the fast pattern may end (absolute offset/depth): lets hyperscan
    # drop hits the content could never accept (min end, max end; 0 = unbounded)
    fast_bounds: tuple[int, int]
    packet_only: bool                         # dsize / no_stream: never on stream data
    on_packet: bool                           # inspected on each segment of a TCP stream too
    stream_only: bool
    notes: list[str] = field(default_factory=list)
    # explicit destination-port set for a one-way rule (None: test with `dports`), so the
    # hot loop can drop most prefilter hits with one set lookup
    dport_set: frozenset[int] | None = None
    # the prefilter pattern for a TCP segment that also went into a stream (None: `fast`):
    # a required content with depth, whose match must end within the first bytes, so the
    # segment prefilter scans those bytes only - (pattern, nocase, min end, max end)
    segment_fast: tuple[bytes, bool, int, int] | None = None
    # app rules: which transaction side(s) it runs on (set by the Detector, which knows the
    # HTTP buffer names) and whether it reads a body buffer (runs once the message is done)
    app_sides: int = 3
    reads_body: bool = False
    # tests on the inspected data and its header packet, after the content chains
    # (ftpbounce: `check(data, client address)`)
    data_checks: tuple = ()
    # DCE/RPC rules (app "dcerpc"): dce_iface / dce_opnum, matched per call
    dce: DceKeywords | None = None
    # ssl_state / ssl_version: a TLS rule, run on the raw stream of TLS flows only, against
    # the flow's TLS state (dpictl.engine.detect.tls_inspection)
    tls: tuple[TlsCondition, ...] = ()

    def __post_init__(self) -> None:
        if self.dports is not None and not self.bidirectional:
            self.dport_set = self.dports.ports()
        if self.fast is not None and self.fast_bounds[1] == 0:
            self.segment_fast = _bounded_payload_content(self.chains)

    @property
    def sid(self) -> int:
        return self.rule.sid

    @property
    def sets_flowbits(self) -> bool:
        return bool(self.flowbit_actions)


def compile_rule(rule: ast.Rule, order: int) -> Signature:
    """Raises SignatureRejected (with the reason) for rules the engine cannot evaluate."""
    notes: list[str] = []
    protos, app = _protocol(rule)
    checks: list[Check] = []
    flow: ast.Flow | None = None
    buffer_tests: list[ast.NumericTest] = []
    stream_size: list[ast.NumericTest] = []
    fb_checks: list[ast.Flowbits] = []
    fb_actions: list[ast.Flowbits] = []
    noalert = False
    threshold = dfilter = None
    data_checks = []
    chains: dict[tuple[str, str | None], list] = {}
    dce_opts: list[ast.Unsupported] = []
    tls: list[TlsCondition] = []
    if rule.proto.lower() in TLS_PROTOCOLS:     # `alert tls` / Snort 3 `alert ssl`
        protos, tls = (6,), [TlsCondition("tls")]
    for opt in rule.options:
        if isinstance(opt, ast.Unsupported) and opt.keyword in DCE_KEYWORDS:
            dce_opts.append(opt)
        elif isinstance(opt, ast.Unsupported) and opt.keyword in TLS_KEYWORDS:
            try:
                tls.append(parse_tls_keyword(opt.keyword, opt.value))
            except TlsKeywordError as exc:
                raise SignatureRejected(str(exc)) from None
        elif isinstance(opt, ast.Unsupported):
            drop, reason = keyword_decision(opt.keyword)
            if drop:
                raise SignatureRejected(reason)
            notes.append(reason)
        elif isinstance(opt, ast.NumericTest):
            opt = _suricata_range(rule, opt)
            if is_packet_numeric(opt):
                checks.append(compile_numeric(opt))
            elif opt.keyword == "bufferlen" and opt.relative:
                # the length left after the cursor: a step of its buffer's content chain
                buffer = opt.buffer or "pkt_data"
                if buffer in UNSUPPORTED_BUFFERS:
                    raise SignatureRejected(UNSUPPORTED_BUFFERS[buffer])
                chains.setdefault((buffer, None), []).append(opt)
            elif opt.keyword in ("urilen", "bufferlen"):
                buffer_tests.append(opt)
            elif opt.keyword == "stream_size":
                stream_size.append(opt)
                notes.append("stream_size compares the flow's byte counters (frames), "
                             "not TCP sequence-space sizes")
            else:
                raise SignatureRejected(f"keyword {opt.keyword!r} is not supported")
        elif isinstance(opt, ast.Flags):
            checks.append(compile_flags(opt))
        elif isinstance(opt, ast.Fragbits):
            checks.append(compile_fragbits(opt))
        elif isinstance(opt, ast.Flow):
            flow = opt
            if opt.only_frag or opt.no_frag:
                checks.append(rebuilt_fragment if opt.only_frag else not_rebuilt_fragment)
        elif isinstance(opt, ast.Flowbits):
            if opt.command == "noalert":
                noalert = True
            elif opt.command in ("isset", "isnotset"):
                fb_checks.append(opt)
            elif opt.command in ("set", "unset", "toggle", "reset"):
                fb_actions.append(opt)
            else:
                raise SignatureRejected(f"flowbits:{opt.command} is not supported")
        elif isinstance(opt, ast.FtpBounce):
            data_checks.append(ftp_bounce)
        elif isinstance(opt, ast.Threshold):
            if opt.kind == "detection_filter":
                dfilter = opt
            else:
                threshold = opt
        else:
            buffer = opt.buffer
            if buffer in UNSUPPORTED_BUFFERS:
                raise SignatureRejected(UNSUPPORTED_BUFFERS[buffer])
            chains.setdefault((buffer, getattr(opt, "field", None)), []).append(opt)
    try:
        compiled = tuple(Chain(b, f, compile_chain(nodes)) for (b, f), nodes in chains.items())
    except RegexError as exc:
        raise SignatureRejected(str(exc)) from None
    fast, bounds = _fast_pattern(compiled)
    buffers = {c.buffer for c in compiled} | {t.buffer or "http_uri" for t in buffer_tests}
    app_buffers = buffers - PACKET_BUFFERS - {"base64_data"}
    kind = KIND_PACKET
    dce = _dce(dce_opts, buffers, app, buffer_tests) if dce_opts or DCE_BUFFER in buffers \
        else None
    if dce is not None:
        kind, app = KIND_APP, "dcerpc"
    elif app_buffers or app:
        kind = KIND_APP
        app = app or "http"
        if protos is None or 6 not in protos:
            if protos is None:
                protos = (6,)
            else:
                raise SignatureRejected("HTTP buffers on a non-TCP rule")
    if tls:
        if kind == KIND_APP or (protos is not None and 6 not in protos):
            raise SignatureRejected("ssl_state/ssl_version on a rule that is not plain TCP")
        protos = (6,)
    protos = _narrow_by_ip_proto(protos, rule.options)
    packet_only = bool(flow and flow.no_stream) or any(_is_packet_keyword(o) for o in rule.options)
    # Suricata (detect-parse.c) sets SIG_FLAG_REQUIRE_PACKET for dsize and for a payload
    # content with depth or offset: such rules also inspect each TCP segment as a packet;
    # the others only see TCP payload through the reassembled stream. (Checked against
    # Suricata 7.0.10 with probe rules: content with depth/offset/offset:0 alert on the
    # segment; plain content, pcre, isdataat, byte_test only on stream data.)
    on_packet = packet_only or any(
        isinstance(o, ast.Content) and o.buffer in PACKET_BUFFERS
        and (o.offset is not None or o.depth is not None) for o in rule.options)
    stream_only = bool(flow and flow.only_stream)
    return Signature(
        rule=rule, order=order, protos=protos, app=app, kind=kind,
        src=compile_addresses(rule.src), dst=compile_addresses(rule.dst),
        sports=compile_ports(rule.src_ports), dports=compile_ports(rule.dst_ports),
        bidirectional=rule.bidirectional, checks=tuple(checks), flow=flow, chains=compiled,
        buffer_tests=tuple(buffer_tests), stream_size=tuple(stream_size),
        flowbit_checks=tuple(fb_checks), flowbit_actions=tuple(fb_actions), noalert=noalert,
        threshold=threshold, detection_filter=dfilter, fast=fast, fast_bounds=bounds,
        packet_only=packet_only, on_packet=on_packet, stream_only=stream_only, notes=notes,
        data_checks=tuple(data_checks), dce=dce, tls=tuple(tls))


DCE_BUFFER = "dce_stub_data"


def _dce(options: list[ast.Unsupported], buffers: set[str], app: str | None,
         buffer_tests: list) -> DceKeywords:
    """The DCE/RPC part of a rule; the rest of it must be about the call too."""
    if app is not None or buffer_tests or buffers - {DCE_BUFFER, "base64_data"}:
        raise SignatureRejected("DCE/RPC keywords mixed with payload or other app-layer "
                                "buffers are not supported")
    try:
        return compile_dce(options)
    except DceKeywordError as exc:
        raise SignatureRejected(str(exc)) from None


def _protocol(rule: ast.Rule) -> tuple[tuple[int, ...] | None, str | None]:
    proto = rule.proto.lower()
    if proto in TLS_PROTOCOLS:
        return (6,), None
    if proto in _PROTOS:
        return _PROTOS[proto], None
    if proto in SERVICE_PROTOCOLS:
        return (6,), proto
    raise SignatureRejected(f"protocol {rule.proto!r}: dpictl has no parser for it")


def _suricata_range(rule: ast.Rule, test: ast.NumericTest) -> ast.NumericTest:
    """Snort 2.9 reads `dsize:N<>M`/`urilen:N<>M` as inclusive and the parser says so
    ("<=>"); Suricata 7, our oracle, reads the same text as exclusive (detect-engine-uint.c).
    We follow the oracle for rules written in 2.9 syntax."""
    if rule.syntax == "snort2" and test.op == "<=>" and test.keyword in ("dsize", "urilen"):
        return ast.NumericTest(test.keyword, "<>", test.value, test.high, test.raw,
                               test.buffer, test.extra, test.relative)
    return test


def _narrow_by_ip_proto(protos: tuple[int, ...] | None,
                        options: list) -> tuple[int, ...] | None:
    """`alert ip ... ip_proto:2` can only match IGMP: group it there, not under tcp/udp."""
    if protos is not None:
        return protos
    for opt in options:
        if isinstance(opt, ast.NumericTest) and opt.keyword == "ip_proto" and opt.op == "=":
            return (opt.value,)
    return None


def itype_of(sig: Signature) -> int | None:
    """The ICMP type a signature requires (`itype:N`), for indexing ICMP signatures."""
    for opt in sig.rule.options:
        if isinstance(opt, ast.NumericTest) and opt.keyword == "itype" and opt.op == "=":
            return opt.value
    return None


# Header keywords whose Suricata setup sets SIG_FLAG_REQUIRE_PACKET and not REQUIRE_STREAM:
# with a content, such a rule inspects each packet's payload, a segment added to the stream
# included, and never the reassembled stream (probe rules on Suricata 7.0.10: flags, ttl,
# seq, ack, window, id, tos, fragbits with a content matched the segment, not the stream).
_PACKET_NUMERIC = frozenset({"dsize", "ttl", "id", "tos", "seq", "ack", "window", "itype",
                             "icode", "icmp_id", "icmp_seq", "fragoffset"})


def _is_packet_keyword(opt: object) -> bool:
    if isinstance(opt, ast.NumericTest):
        return opt.keyword in _PACKET_NUMERIC
    return isinstance(opt, (ast.Flags, ast.Fragbits))


def _fast_pattern(chains: tuple[Chain, ...]
                  ) -> tuple[tuple[str, bytes, bool] | None, tuple[int, int]]:
    """The author's fast_pattern, else the longest positive content (Snort's choice), and
    where its match may end.

    Only a content that must be present for the rule to match can filter candidates:
    negated contents never qualify, nor contents of the derived base64_data buffer.
    Header-field contents filter on the whole http_header buffer, which contains them.
    """
    best = None
    for chain in chains:
        if chain.buffer == "base64_data":
            continue
        for op in chain.ops:
            node = op.node
            if not isinstance(node, ast.Content) or node.negated or not node.pattern:
                continue
            buffer = "http_header" if chain.field else chain.buffer
            score = (1 << 20 if node.fast_pattern else 0) + len(node.pattern)
            if best is None or score > best[0]:
                best = (score, buffer, node, chain)
    if best is None:
        return None, (0, 0)
    _, buffer, node, chain = best
    bounds = (0, 0)
    if chain.field is None and not node.relative and not _has_vars(node):
        offset = node.offset or 0
        low = offset + len(node.pattern) if offset else 0
        high = offset + node.depth if node.depth is not None else 0
        bounds = (low, high)
    elif chain.field is None and node.relative:
        # relative to a content with depth (|00| depth 1, then |FF|SMB within 4): the
        # match still ends within known bytes of the start
        high = next((h for n, h in _content_max_ends(chain.ops) if n is node), None)
        bounds = (0, high or 0)
    return (buffer, node.pattern, node.nocase), bounds


def _bounded_payload_content(chains: tuple[Chain, ...]) -> tuple[bytes, bool, int, int] | None:
    """The longest positive payload content whose match must end within a known number of
    bytes from the buffer start, and that bound: every packet the signature matches
    contains it there. Too short a pattern (fewer than 3 bytes) filters nothing: None."""
    best: tuple[int, int, ast.Content] | None = None
    for chain in chains:
        if chain.buffer not in PACKET_BUFFERS or chain.field is not None:
            continue
        for node, high in _content_max_ends(chain.ops):
            if node.negated or high is None or not node.pattern:
                continue
            if best is None or (len(node.pattern), -high) > (len(best[2].pattern), -best[1]):
                best = (len(node.pattern), high, node)
    if best is None or best[0] < 3:
        return None
    _, high, node = best
    low = (node.offset or 0) + len(node.pattern) if not node.relative and node.offset else 0
    return node.pattern, node.nocase, low, high


def _content_max_ends(ops) -> list[tuple[ast.Content, int | None]]:
    """Each content of a chain with the furthest offset at which any match of it can end
    (None: anywhere). An absolute content ends by offset+depth; a relative one by the
    furthest cursor before it + distance + within; keywords that move the cursor by an
    amount read from the data (pcre, byte_jump, byte_extract, ber_*) leave it unbounded."""
    out: list[tuple[ast.Content, int | None]] = []
    cursor: int | None = 0          # furthest the cursor can be before the current option
    for op in ops:
        node = op.node
        if isinstance(node, ast.Content):
            if _has_vars(node) or isinstance(node.distance, str) or isinstance(node.within, str):
                high = None
            elif node.relative:
                high = (cursor + (node.distance or 0) + node.within
                        if cursor is not None and node.within is not None else None)
            else:
                high = (node.offset or 0) + node.depth if node.depth is not None else None
            out.append((node, high))
            if not node.negated:
                cursor = high
        elif isinstance(node, (ast.Pcre, ast.ByteJump, ast.ByteExtract, ast.BerData,
                               ast.BerSkip)):
            cursor = None
    return out


def _has_vars(node: ast.Content) -> bool:
    return isinstance(node.offset, str) or isinstance(node.depth, str)


__all__ = ["Signature", "Chain", "SignatureRejected", "compile_rule", "itype_of", "KIND_PACKET",
           "KIND_APP", "PACKET_BUFFERS"]
