"""Snort rules -> Suricata 7 rules, written from dpictl's own rule AST.

Snort 2.9 rules are Suricata's native dialect (the oracle loads 99.4% of the 2.9 file as it
is), so they pass through unchanged. Snort 3 rules are rebuilt option by option from the
parsed `Rule`: the parser has already resolved the hard parts (which buffer each content
belongs to, comma sub-options, `field`), so the writer only has to spell each node the way
Suricata does and to start a Suricata sticky buffer whenever the buffer changes.

A rule that has no Suricata spelling raises `Untranslatable` with the reason; the caller
reports it like a rule that failed to load (`rules check` shape) and the rest still run.

The header is taken from the rule's own text rather than from the AST: the AST holds the
variables already expanded, and Suricata rejects the ~1 KB port strings that `$HTTP_PORTS`
expands to, while it understands Snort's `$VAR`, `[a,b]`, `!x` and `lo:hi` forms as they are.
"""

from __future__ import annotations

from dataclasses import dataclass

from dpictl.rules.ast import (
    Base64Decode, BerData, BerSkip, ByteExtract, ByteJump, ByteMath, ByteTest, Content, Flags,
    Flow, Flowbits, Fragbits, FtpBounce, IsDataAt, NumericTest, Option, Pcre, Rule, Threshold,
    Unsupported,
)
from dpictl.rules.header import header_fields
from dpictl.rules.tokens import split_rule


class Untranslatable(Exception):
    """The rule uses something Suricata 7 cannot express; `str(err)` is the reason."""


# Snort 3 inspection buffer -> Suricata 7 sticky buffer. None: Suricata has no equivalent.
BUFFER_NAMES: dict[str, str | None] = {
    "pkt_data": "pkt_data",
    "raw_data": "pkt_data",            # Suricata does no packet normalisation to undo
    "file_data": "file.data",
    "js_data": "file.data",            # Suricata has no normalised-JavaScript buffer
    "http_uri": "http.uri",
    "http_raw_uri": "http.uri.raw",
    "http_method": "http.method",
    "http_version": "http.protocol",
    "http_header": "http.header",
    "http_raw_header": "http.header.raw",
    "http_cookie": "http.cookie",
    "http_raw_cookie": "http.cookie",  # Suricata keeps only one cookie buffer
    "http_client_body": "http.request_body",
    "http_stat_code": "http.stat_code",
    "http_stat_msg": "http.stat_msg",
    "http_raw_request": "http.request_line",
    "http_raw_status": "http.response_line",
    "base64_data": "base64_data",
    "dce_stub_data": "dce_stub_data",
    "sip_method": "sip.method",
    "sip_stat_code": "sip.stat_code",
    "http_raw_body": None, "http_param": None, "http_true_ip": None, "sip_header": None,
    "sip_body": None, "vba_data": None,
}

# `http_header:field NAME` -> the Suricata buffer that holds just that header's value.
HEADER_FIELD_BUFFERS: dict[str, str] = {
    "user-agent": "http.user_agent",
    "host": "http.host.raw",           # http.host is lower-cased; Snort's field value is not
    "referer": "http.referer",
    "cookie": "http.cookie",
    "content-type": "http.content_type",
    "content-length": "http.content_len",
    "accept": "http.accept",
    "accept-encoding": "http.accept_enc",
    "accept-language": "http.accept_lang",
    "connection": "http.connection",
    "location": "http.location",
    "server": "http.server",
}

# Snort 3 service -> Suricata 7 app-layer protocol (for the rule header). Services Suricata
# 7 has no parser for (pop3, sunrpc, mysql, ...) keep the transport protocol.
APP_PROTOCOLS: dict[str, str] = {
    "http": "http", "ssl": "tls", "dns": "dns", "smtp": "smtp", "ftp": "ftp",
    "ftp-data": "ftp-data", "imap": "imap", "netbios-ssn": "smb", "dcerpc": "dcerpc",
    "snmp": "snmp", "sip": "sip", "tftp": "tftp", "kerberos": "krb5", "dhcp": "dhcp",
    "ssh": "ssh", "telnet": "telnet", "rdp": "rdp", "ntp": "ntp", "modbus": "modbus",
    "dnp3": "dnp3", "enip": "enip", "nfs": "nfs", "mqtt": "mqtt", "rfb": "rfb",
}

# Numeric keywords whose Suricata 7 parser takes <, >, <=, >=, !N and lo<>hi; the others
# compare for equality only.
_RANGE_KEYWORDS = frozenset({"dsize", "ttl", "itype", "icode", "bsize", "urilen", "ip_proto",
                             "id", "tos", "icmp_id", "icmp_seq"})
_EQUALITY_KEYWORDS = frozenset({"seq", "ack", "window"})
_STREAM_SIZE_SIDES = {"client": "client", "server": "server", "both": "both",
                      "either": "either"}
# The transports Suricata 7 parses each app-layer protocol on (default: TCP only).
_APP_TRANSPORTS: dict[str, tuple[str, ...]] = {
    "dns": ("tcp", "udp"), "krb5": ("tcp", "udp"), "snmp": ("udp",), "tftp": ("udp",),
    "dhcp": ("udp",), "ntp": ("udp",), "sip": ("udp",), "nfs": ("tcp", "udp"),
    "dcerpc": ("tcp", "udp"), "dnp3": ("tcp", "udp"), "enip": ("tcp", "udp"),
}
_FILE_PROTOCOLS = frozenset({"http", "smtp", "ftp-data", "smb", "nfs", "http2"})
_DROPPED_KEYWORDS = frozenset({"tag"})   # no effect on which packets alert
_ACTIONS = {"alert": "alert", "log": "alert", "pass": "pass", "drop": "drop",
            "block": "drop", "sdrop": "drop", "reject": "reject", "rewrite": "alert"}


@dataclass(slots=True)
class TranslatedRule:
    rule: Rule
    text: str


def translate_rule(rule: Rule) -> str:
    """One rule in Suricata 7 syntax. Raises Untranslatable."""
    if rule.syntax == "snort2":
        return _strip_comment(rule.text)
    return _Writer(rule).write()


def _strip_comment(text: str) -> str:
    """Rules loaded with --include-disabled keep their leading `# `."""
    stripped = text.lstrip()
    return stripped.lstrip("#").lstrip() if stripped.startswith("#") else stripped


def escape_text(text: str) -> str:
    """A msg or other quoted value: Suricata needs `\\`, `"` and `;` escaped."""
    return text.replace("\\", "\\\\").replace('"', '\\"').replace(";", "\\;")


_PRINTABLE = frozenset(range(0x20, 0x7F)) - {ord(c) for c in '"\\;|:'}


def content_text(pattern: bytes) -> str:
    """Bytes -> Suricata content string: printable ASCII as is, the rest as |hex|."""
    out: list[str] = []
    hex_run: list[str] = []
    for b in pattern:
        if b in _PRINTABLE:
            if hex_run:
                out.append("|" + " ".join(hex_run) + "|")
                hex_run = []
            out.append(chr(b))
        else:
            hex_run.append(f"{b:02X}")
    if hex_run:
        out.append("|" + " ".join(hex_run) + "|")
    return "".join(out)


class _Writer:
    """Writes one Snort 3 rule; tracks the Suricata sticky buffer currently in force."""

    def __init__(self, rule: Rule) -> None:
        self.rule = rule
        self.buffer = "pkt_data"
        self.parts: list[str] = []

    def write(self) -> str:
        rule = self.rule
        action = _ACTIONS.get(rule.action)
        if action is None:
            raise Untranslatable(f"action {rule.action!r} has no Suricata equivalent")
        header = self._header()
        self.parts.append(f'msg:"{escape_text(rule.msg)}"')
        for option in rule.options:
            self._option(option)
        if rule.classtype:
            self.parts.append(f"classtype:{rule.classtype}")
        if rule.priority is not None and "priority:" in rule.text:
            self.parts.append(f"priority:{rule.priority}")
        if rule.gid != 1:
            self.parts.append(f"gid:{rule.gid}")
        self.parts.append(f"sid:{rule.sid}")
        self.parts.append(f"rev:{rule.rev}")
        return f"{action} {header} ({' '.join(p + ';' for p in self.parts)})"

    # -- header -------------------------------------------------------------------------

    def _header(self) -> str:
        rule = self.rule
        fields = header_fields(split_rule(rule.text)[0])
        if len(fields) == 7:
            proto, src, sport, arrow, dst, dport = fields[1:]
        elif len(fields) == 2:       # Snort 3 `alert http (...)`: no addresses
            proto, src, sport, arrow, dst, dport = fields[1], "any", "any", "->", "any", "any"
        else:
            # `alert http $HOME_NET -> ...` style headers without ports are rare; rebuild
            raise Untranslatable(f"header form {' '.join(fields[1:])!r} is not supported")
        proto = self._protocol(proto.lower())
        if proto in ("ip", "icmp"):
            sport = dport = "any"
        return f"{proto} {src} {sport} {arrow} {dst} {dport}"

    def _protocol(self, proto: str) -> str:
        """The transport protocol, or the app-layer protocol of a single-service rule."""
        if proto not in ("ip", "tcp", "udp", "icmp"):
            app = APP_PROTOCOLS.get(proto)
            if app is None:
                return "tcp"          # a service Suricata 7 cannot parse: plain TCP
            return app
        services = self.rule.services
        if proto in ("tcp", "udp") and len(services) == 1 and services[0] in APP_PROTOCOLS:
            app = APP_PROTOCOLS[services[0]]
            if (proto in _APP_TRANSPORTS.get(app, ("tcp",)) and self._buffers_fit(app)
                    and not self._packet_level()):
                return app
        return proto

    def _packet_level(self) -> bool:
        """Snort 3 still matches a service rule on packets of flows whose service is unknown
        (a SYN scan of port 161 fires `service:snmp` rules); a Suricata app-layer rule would
        not, so rules about single packets keep their transport protocol."""
        if any(getattr(o, "buffer", None) not in (None, "pkt_data", "raw_data")
               for o in self.rule.options):
            return False          # app-layer buffers make it an app-layer rule anyway
        for option in self.rule.options:
            if isinstance(option, (Flags, Fragbits)):
                return True
            if isinstance(option, Flow) and (option.stateless or option.no_stream):
                return True
            if isinstance(option, NumericTest) and option.keyword not in ("bufferlen",
                                                                          "urilen"):
                return True
        return False

    def _buffers_fit(self, app: str) -> bool:
        """Whether every buffer the rule inspects exists for `app` in Suricata (Snort 3 lets
        a `service:ftp` rule read file_data; Suricata only has files on some protocols)."""
        for option in self.rule.options:
            buffer = getattr(option, "buffer", None) or "pkt_data"
            if buffer in ("file_data", "js_data") and app not in _FILE_PROTOCOLS:
                return False
            if buffer.startswith("http_") and app != "http":
                return False
        return True

    # -- options ------------------------------------------------------------------------

    def _option(self, option: Option) -> None:
        handler = _HANDLERS.get(type(option))
        if handler is None:
            raise Untranslatable(f"option {type(option).__name__} is not translated")
        handler(self, option)

    def _enter(self, buffer: str, field: str | None) -> None:
        """Start the Suricata sticky buffer for (buffer, field) if it is not the current one."""
        if field is not None:
            if buffer != "http_header":
                raise Untranslatable(f"{buffer} with a field has no Suricata equivalent")
            name = HEADER_FIELD_BUFFERS.get(field)
            if name is None:
                raise Untranslatable(f"http_header:field {field} has no Suricata buffer")
        else:
            name = BUFFER_NAMES.get(buffer)
            if name is None:
                raise Untranslatable(f"Suricata 7 has no {buffer} buffer")
        if name != self.buffer:
            self.parts.append(name)
            self.buffer = name

    def _content(self, c: Content) -> None:
        self._enter(c.buffer, c.field)
        bang = "!" if c.negated else ""
        self.parts.append(f'content:{bang}"{content_text(c.pattern)}"')
        if c.nocase:
            self.parts.append("nocase")
        for name in ("offset", "depth", "distance", "within"):
            value = getattr(c, name)
            if value is not None:
                self.parts.append(f"{name}:{value}")
        if c.fast_pattern_range is not None:
            self.parts.append(f"fast_pattern:{c.fast_pattern_range[0]},"
                              f"{c.fast_pattern_range[1]}")
        elif c.fast_pattern or c.fast_pattern_only:
            self.parts.append("fast_pattern")

    def _pcre(self, p: Pcre) -> None:
        self._enter(p.buffer, p.field)
        flags = p.flags + ("R" if p.relative else "")
        self.parts.append(f'pcre:{"!" if p.negated else ""}"/{p.pattern}/{flags}"')

    def _byte_test(self, b: ByteTest) -> None:
        self._enter(b.buffer, b.field)
        args = [str(b.count), b.operator, str(b.value), str(b.offset)]
        args += _byte_flags(b.relative, b.endian, b.string, b.dce, b.bitmask)
        self.parts.append("byte_test:" + ",".join(args))

    def _byte_jump(self, b: ByteJump) -> None:
        self._enter(b.buffer, b.field)
        args = [str(b.count), str(b.offset)]
        if b.relative:
            args.append("relative")
        if b.multiplier != 1:
            args.append(f"multiplier {b.multiplier}")
        args += _byte_flags(False, b.endian, b.string, False, None)
        if b.align:
            if b.align != 4:
                raise Untranslatable(f"byte_jump align {b.align}: Suricata aligns to 4 only")
            args.append("align")
        if b.from_beginning:
            args.append("from_beginning")
        if b.from_end:
            args.append("from_end")
        if b.post_offset != 0:
            args.append(f"post_offset {b.post_offset}")
        args += _byte_flags(False, "big", None, b.dce, b.bitmask)
        self.parts.append("byte_jump:" + ",".join(args))

    def _byte_extract(self, b: ByteExtract) -> None:
        self._enter(b.buffer, b.field)
        args = [str(b.count), str(b.offset), b.name]
        if b.relative:
            args.append("relative")
        if b.multiplier != 1:
            args.append(f"multiplier {b.multiplier}")
        args += _byte_flags(False, b.endian, b.string, b.dce, b.bitmask)
        if b.align:
            args.append(f"align {b.align}")
        self.parts.append("byte_extract:" + ",".join(args))

    def _byte_math(self, b: ByteMath) -> None:
        self._enter(b.buffer, b.field)
        args = [f"bytes {b.count}", f"offset {b.offset}", f"oper {b.operator}",
                f"rvalue {b.rvalue}", f"result {b.result}"]
        if b.relative:
            args.append("relative")
        if b.endian == "little":
            args.append("endian little")
        if b.string:
            args.append(f"string {b.string}")
        if b.dce:
            args.append("dce")
        if b.bitmask is not None:
            args.append(f"bitmask {b.bitmask:#x}")
        self.parts.append("byte_math:" + ", ".join(args))

    def _isdataat(self, i: IsDataAt) -> None:
        self._enter(i.buffer, i.field)
        text = f"isdataat:{'!' if i.negated else ''}{i.offset}"
        self.parts.append(text + (",relative" if i.relative else ""))

    def _base64_decode(self, b: Base64Decode) -> None:
        self._enter(b.buffer, b.field)
        args = []
        if b.bytes is not None:
            args.append(f"bytes {b.bytes}")
        if b.offset:
            args.append(f"offset {b.offset}")
        if b.relative:
            args.append("relative")
        self.parts.append("base64_decode" + (":" + ",".join(args) if args else ""))

    def _numeric(self, n: NumericTest) -> None:
        keyword = n.keyword
        if keyword == "stream_size":
            side = _STREAM_SIZE_SIDES.get(n.extra or "either", "either")
            if n.op in ("<>", "<=>"):
                raise Untranslatable("stream_size ranges have no Suricata equivalent")
            self.parts.append(f"stream_size:{side},{n.op},{n.value}")
            return
        if keyword == "bufferlen":
            if n.buffer:
                self._enter(n.buffer, None)
            if n.relative:
                self._bufferlen_relative(n)
                return
            keyword = "bsize"
        value = _comparison(keyword, n)
        suffix = ""
        if n.keyword == "urilen":
            suffix = ",raw" if n.raw else ",norm"
        self.parts.append(f"{keyword}:{value}{suffix}")

    def _bufferlen_relative(self, n: NumericTest) -> None:
        """`bufferlen:...,relative` (bytes left after the cursor) as Suricata isdataat:
        `isdataat:N,relative` holds when at least N bytes follow the cursor
        (detect-engine-content-inspection.c: cursor + N <= buffer length), so each bound is
        one isdataat, and `=`/ranges are two. `!=` (either side of N) has no form."""
        low, high = _remaining_bounds(n)
        if low > 0:
            self.parts.append(f"isdataat:{low},relative")
        if high is not None:
            self.parts.append(f"isdataat:!{high + 1},relative")

    def _ber(self, node: BerData | BerSkip) -> None:
        keyword = "ber_data" if isinstance(node, BerData) else "ber_skip"
        raise Untranslatable(f"{keyword} has no Suricata 7 equivalent (Suricata has no "
                             "keyword that walks BER elements)")

    def _flow(self, f: Flow) -> None:
        words = [name for name in ("established", "not_established", "stateless",
                                   "to_server", "to_client", "only_stream", "no_stream",
                                   "only_frag", "no_frag") if getattr(f, name)]
        if _packet_size_test(self.rule) and not (f.only_stream or f.no_stream):
            words.append("no_stream")
        if words:
            self.parts.append("flow:" + ",".join(words))

    def _flowbits(self, f: Flowbits) -> None:
        if not f.names:
            if f.command == "reset":
                raise Untranslatable("flowbits:reset has no Suricata equivalent")
            self.parts.append(f"flowbits:{f.command}")
        elif f.command in ("isset", "isnotset") and f.any_of and len(f.names) > 1:
            self.parts.append(f"flowbits:{f.command},{'|'.join(f.names)}")
        else:
            for name in f.names:           # a & b, or set: one flowbits keyword per bit
                self.parts.append(f"flowbits:{f.command},{name}")

    def _flags(self, f: Flags) -> None:
        flags = f.flags.replace("1", "C").replace("2", "E")
        mask = f.mask.replace("1", "C").replace("2", "E")
        self.parts.append(f"flags:{f.modifier}{flags}" + (f",{mask}" if mask else ""))

    def _fragbits(self, f: Fragbits) -> None:
        self.parts.append(f"fragbits:{f.modifier}{f.bits}")

    def _threshold(self, t: Threshold) -> None:
        if t.kind == "detection_filter":
            self.parts.append(f"detection_filter:track {t.track},count {t.count},"
                              f"seconds {t.seconds}")
        else:
            self.parts.append(f"threshold:type {t.kind},track {t.track},count {t.count},"
                              f"seconds {t.seconds}")

    def _unsupported(self, u: Unsupported) -> None:
        keyword, value = u.keyword, (u.value or "").strip()
        if keyword in _DROPPED_KEYWORDS:
            return
        if keyword in ("ssl_state", "ssl_version"):
            self.parts.append(f"{keyword}:{value}")
        elif keyword == "dce_iface":
            args = [a.strip() for a in value.split(",")]
            args[0] = args[0].removeprefix("uuid").strip()
            self.parts.append("dce_iface:" + ",".join(args))
        elif keyword == "dce_opnum":
            self.parts.append(f"dce_opnum:{value.strip(chr(34))}")
        elif keyword == "sip_method":
            self._enter("sip_method", None)
            for method in (m.strip() for m in value.split(",")):
                if method.startswith("!"):
                    self.parts.append(f'content:!"{content_text(method[1:].upper().encode())}"')
                else:
                    self.parts.append(f'content:"{content_text(method.upper().encode())}"')
        elif keyword == "sip_stat_code":
            codes = [c.strip() for c in value.split(",")]
            if len(codes) != 1:
                raise Untranslatable("sip_stat_code with several codes has no Suricata form")
            self._enter("sip_stat_code", None)
            code = codes[0]
            self.parts.append(f'content:"{code}"')
            self.parts.append("depth:" + str(len(code)))
        else:
            raise Untranslatable(f"{keyword} has no Suricata 7 equivalent")


def _packet_size_test(rule: Rule) -> bool:
    """`isdataat:!N` on the payload is a packet-size test in Snort 3 (raw TCP segments are
    inspected one by one); Suricata would apply it to a reassembled stream chunk, which is
    longer, so such rules are kept to single packets (`no_stream`)."""
    if any(getattr(o, "buffer", None) not in (None, "pkt_data", "raw_data")
           for o in rule.options):
        return False          # an app-layer rule: Suricata refuses no_stream there
    return any(isinstance(o, IsDataAt) and o.negated and not o.relative
               for o in rule.options)


def _byte_flags(relative: bool, endian: str, string: str | None, dce: bool,
                bitmask: int | None) -> list[str]:
    out = []
    if relative:
        out.append("relative")
    if endian == "little":
        out.append("little")
    if string:
        out += ["string", string]
    if dce:
        out.append("dce")
    if bitmask is not None:
        out.append(f"bitmask {bitmask:#x}")
    return out


def _remaining_bounds(n: NumericTest) -> tuple[int, int | None]:
    """The inclusive range (low, high; None: unbounded) of remaining lengths that a
    `bufferlen:...,relative` test accepts. Raises Untranslatable for `!=`."""
    op, value = n.op, n.value
    if op == "=":
        return value, value
    if op == ">=":
        return value, None
    if op == ">":
        return value + 1, None
    if op == "<=":
        return 0, value
    if op == "<":
        if value <= 0:
            raise Untranslatable(f"bufferlen:<{value},relative can never match")
        return 0, value - 1
    if op == "<=>":
        return value, n.high
    if op == "<>" and n.high is not None and n.high - value >= 2:
        return value + 1, n.high - 1
    raise Untranslatable(f"bufferlen:{op}{value},relative has no Suricata form")


def _comparison(keyword: str, n: NumericTest) -> str:
    """A NumericTest in Suricata's spelling. `<=>` (inclusive) becomes an exclusive `<>`."""
    if n.op == "=":
        return str(n.value)
    if keyword in _EQUALITY_KEYWORDS:
        raise Untranslatable(f"{keyword} compares for equality only in Suricata")
    if n.op == "<=>":
        return f"{n.value - 1}<>{(n.high or 0) + 1}" if n.value > 0 else f"<={n.high}"
    if n.op == "<>":
        return f"{n.value}<>{n.high}"
    if n.op == "!=":
        return f"!{n.value}"
    return f"{n.op}{n.value}"


_HANDLERS = {
    Content: _Writer._content, Pcre: _Writer._pcre, ByteTest: _Writer._byte_test,
    ByteJump: _Writer._byte_jump, ByteExtract: _Writer._byte_extract,
    ByteMath: _Writer._byte_math, IsDataAt: _Writer._isdataat,
    Base64Decode: _Writer._base64_decode, NumericTest: _Writer._numeric,
    Flow: _Writer._flow, Flowbits: _Writer._flowbits, Flags: _Writer._flags,
    Fragbits: _Writer._fragbits, Threshold: _Writer._threshold,
    Unsupported: _Writer._unsupported, BerData: _Writer._ber, BerSkip: _Writer._ber,
    FtpBounce: lambda writer, _node: writer.parts.append("ftpbounce"),
}

__all__ = ["Untranslatable", "TranslatedRule", "translate_rule", "content_text",
           "escape_text", "BUFFER_NAMES", "HEADER_FIELD_BUFFERS", "APP_PROTOCOLS"]
