"""The parsed form of a Snort rule, shared by the rule parser and the engine.

Snort 2.9 and Snort 3 say the same things differently (content modifiers after the content
vs. sticky buffers before it, `content:"x"; nocase;` vs. `content:"x",nocase;`). The parser
normalises both into this one shape, so the engine never needs to know which syntax a rule
came in. Every detection option keeps its position (`Rule.options` is in rule order) because
relative matches (`distance`, `within`, `isdataat:...,relative`, `byte_jump ... relative`)
depend on the option before them in the same buffer.

Buffer names (`Buffer`) are the Snort 3 sticky-buffer names; Snort 2.9 modifiers map onto
them (`http_header;` after a content -> buffer "http_header"). A `field` narrows
`http_header` to one header (Snort 3 `http_header:field user-agent`).
"""

from __future__ import annotations

from dataclasses import dataclass, field
from typing import Literal, Union

# Inspection buffers the engine fills. "pkt_data" is the (reassembled, when the rule is a stream
# rule) payload; "raw_data" the same without normalisation; "file_data" is the HTTP response body
# (de-chunked, decompressed) or the SMTP/POP/IMAP attachment data.
BUFFERS = frozenset({
    "pkt_data", "raw_data", "file_data",
    "http_uri", "http_raw_uri", "http_method", "http_version",
    "http_header", "http_raw_header", "http_cookie", "http_raw_cookie",
    "http_client_body", "http_raw_body", "http_stat_code", "http_stat_msg",
    "http_param", "http_true_ip", "http_raw_request", "http_raw_status",
    "base64_data", "dce_stub_data",
    "sip_method", "sip_stat_code", "sip_header", "sip_body",
    "js_data", "vba_data",
})

Buffer = str  # one of BUFFERS

# A value that may be a number or the name of a byte_extract / byte_math variable.
IntOrVar = Union[int, str]


@dataclass(slots=True)
class Content:
    """`content` with every modifier folded in."""

    pattern: bytes
    negated: bool = False
    nocase: bool = False
    rawbytes: bool = False
    buffer: Buffer = "pkt_data"
    field: str | None = None          # lower-case header name for http_header:field X
    offset: IntOrVar | None = None
    depth: IntOrVar | None = None
    distance: IntOrVar | None = None
    within: IntOrVar | None = None
    fast_pattern: bool = False         # the rule author chose this content for the prefilter
    fast_pattern_only: bool = False    # Snort 2.9 fast_pattern:only
    fast_pattern_range: tuple[int, int] | None = None  # fast_pattern:<offset>,<length>

    @property
    def relative(self) -> bool:
        return self.distance is not None or self.within is not None


@dataclass(slots=True)
class Pcre:
    """`pcre:"/re/flags"`. `pattern` is the bare regex; Snort-only flags are unpacked here."""

    pattern: str
    flags: str = ""                  # the PCRE flags kept as written: i s m x A E G
    negated: bool = False
    relative: bool = False           # R
    buffer: Buffer = "pkt_data"      # from U I P H D M C K S Y B flags or a sticky buffer
    field: str | None = None
    rawbytes: bool = False           # B


@dataclass(slots=True)
class ByteTest:
    count: int
    operator: str                    # < > <= >= = & ^ (with optional leading !)
    value: IntOrVar
    offset: IntOrVar
    relative: bool = False
    endian: Literal["big", "little"] = "big"
    string: str | None = None        # "hex" | "dec" | "oct" when the bytes are text
    dce: bool = False
    bitmask: int | None = None
    buffer: Buffer = "pkt_data"
    field: str | None = None


@dataclass(slots=True)
class ByteJump:
    count: int
    offset: IntOrVar
    relative: bool = False
    multiplier: int = 1
    endian: Literal["big", "little"] = "big"
    string: str | None = None
    align: int = 0                   # 4 for align, 2 for align 2
    from_beginning: bool = False
    from_end: bool = False
    post_offset: IntOrVar = 0
    dce: bool = False
    bitmask: int | None = None
    buffer: Buffer = "pkt_data"
    field: str | None = None


@dataclass(slots=True)
class ByteExtract:
    count: int
    offset: IntOrVar
    name: str
    relative: bool = False
    multiplier: int = 1
    endian: Literal["big", "little"] = "big"
    string: str | None = None
    align: int = 0
    dce: bool = False
    bitmask: int | None = None
    buffer: Buffer = "pkt_data"
    field: str | None = None


@dataclass(slots=True)
class ByteMath:
    count: int
    offset: IntOrVar
    operator: str                    # + - * / << >>
    rvalue: IntOrVar
    result: str
    relative: bool = False
    endian: Literal["big", "little"] = "big"
    string: str | None = None
    dce: bool = False
    bitmask: int | None = None
    buffer: Buffer = "pkt_data"
    field: str | None = None


@dataclass(slots=True)
class IsDataAt:
    offset: IntOrVar
    negated: bool = False
    relative: bool = False
    rawbytes: bool = False
    buffer: Buffer = "pkt_data"
    field: str | None = None


@dataclass(slots=True)
class Base64Decode:
    """`base64_decode[:bytes N, offset N, relative]`: decodes into the base64_data buffer."""

    bytes: int | None = None
    offset: int = 0
    relative: bool = False
    buffer: Buffer = "pkt_data"
    field: str | None = None


@dataclass(slots=True)
class BerData:
    """Snort 3 `ber_data:<type>`: the BER element at the cursor must have this identifier;
    the cursor moves to its contents. Always relative to the cursor (Snort 3 has no
    absolute form), so `relative` is a constant rather than a field."""

    type: int
    buffer: Buffer = "pkt_data"
    field: str | None = None

    @property
    def relative(self) -> bool:
        return True


@dataclass(slots=True)
class BerSkip:
    """Snort 3 `ber_skip:<type>[,optional]`: the BER element at the cursor must have this
    identifier and the cursor moves past it; with `optional` an element of another type is
    left where it is (the option still matches)."""

    type: int
    optional: bool = False
    buffer: Buffer = "pkt_data"
    field: str | None = None

    @property
    def relative(self) -> bool:
        return True


@dataclass(slots=True)
class NumericTest:
    """A comparison on a packet/buffer property: dsize, urilen, bufferlen, ttl, id, icmp_id,
    icmp_seq, itype, icode, seq, ack, window, stream_size, ip_proto (as number), tos.

    op is one of "=", "!=" (written `!N`), "<", ">", "<=", ">=", "<>" (exclusive range),
    "<=>" (inclusive range; Snort 3 `N<=>M`; Snort 2.9 `dsize`/`urilen` `N<>M` is inclusive and
    arrives as "<=>"). For ranges `value` is the low end and `high` the high end. `raw` on
    urilen means the raw URI. `buffer` is set for bufferlen (the sticky buffer) and for urilen
    ("http_raw_uri", or "http_uri" with `,norm`).
    """

    keyword: str
    op: str
    value: int
    high: int | None = None
    raw: bool = False
    buffer: Buffer | None = None
    extra: str | None = None         # stream_size direction ("client", "server", "both", "either")
    relative: bool = False           # bufferlen:...,relative: the length left after the cursor


@dataclass(slots=True)
class Flow:
    """`flow:`. Direction is normalised to to_server/to_client (from_client == to_server)."""

    established: bool = False
    not_established: bool = False
    stateless: bool = False
    to_server: bool = False
    to_client: bool = False
    only_stream: bool = False
    no_stream: bool = False
    only_frag: bool = False
    no_frag: bool = False


@dataclass(slots=True)
class Flowbits:
    """`flowbits:set|unset|toggle|isset|isnotset|noalert|reset[,name[&|name...]]`."""

    command: str
    names: tuple[str, ...] = ()
    any_of: bool = False             # names joined with | rather than &


@dataclass(slots=True)
class Flags:
    """TCP `flags:[!|*|+]FSRPAU12CE[,mask]`."""

    flags: str
    modifier: str = ""               # "", "+", "*", "!"
    mask: str = ""


@dataclass(slots=True)
class Fragbits:
    bits: str                        # subset of "MDR"
    modifier: str = ""


@dataclass(slots=True)
class Threshold:
    """`threshold` and `detection_filter` in one shape."""

    kind: Literal["limit", "threshold", "both", "detection_filter"]
    track: Literal["by_src", "by_dst", "by_rule", "by_both"]
    count: int
    seconds: int


@dataclass(slots=True)
class FtpBounce:
    """`ftpbounce`: an FTP PORT command naming an address other than the client's."""


@dataclass(slots=True)
class Unsupported:
    """A keyword the parser recognises but the engine cannot evaluate (e.g. dce_iface,
    ssl_state, sip_method). Kept so that the engine can decide per rule and say why."""

    keyword: str
    value: str | None = None


Option = Union[Content, Pcre, ByteTest, ByteJump, ByteExtract, ByteMath, IsDataAt,
               Base64Decode, BerData, BerSkip, NumericTest, Flow, Flowbits, Flags, Fragbits,
               Threshold, FtpBounce, Unsupported]


@dataclass(slots=True)
class AddressSpec:
    """One side's addresses after variable expansion. `any` when unrestricted.

    `include`/`exclude` hold CIDR strings ("10.0.0.0/8", "::/0"); the engine builds
    ipaddress networks from them once.
    """

    any: bool = True
    include: tuple[str, ...] = ()
    exclude: tuple[str, ...] = ()


@dataclass(slots=True)
class PortSpec:
    """One side's ports after variable expansion: inclusive ranges, with an exclusion list."""

    any: bool = True
    include: tuple[tuple[int, int], ...] = ()
    exclude: tuple[tuple[int, int], ...] = ()


@dataclass(slots=True)
class Rule:
    """One rule, whatever syntax it was written in."""

    action: str                       # alert, log, pass, drop, reject, sdrop
    proto: str                        # ip, tcp, udp, icmp, or a Snort 3 service (http, ...) -> see service
    src: AddressSpec
    src_ports: PortSpec
    bidirectional: bool
    dst: AddressSpec
    dst_ports: PortSpec
    sid: int
    gid: int = 1
    rev: int = 1
    msg: str = ""
    classtype: str | None = None
    priority: int | None = None       # from `priority:` or the classtype's default
    services: tuple[str, ...] = ()    # Snort 3 `service:` and `alert http (...)` headers
    metadata: tuple[str, ...] = ()
    references: tuple[str, ...] = ()
    options: list[Option] = field(default_factory=list)
    text: str = ""                    # the rule as written (joined onto one line)
    file: str | None = None
    line: int | None = None
    syntax: Literal["snort2", "snort3"] = "snort2"

    @property
    def key(self) -> tuple[int, int]:
        return (self.gid, self.sid)


__all__ = [
    "BUFFERS", "Buffer", "IntOrVar", "Content", "Pcre", "ByteTest", "ByteJump", "ByteExtract",
    "ByteMath", "IsDataAt", "Base64Decode", "BerData", "BerSkip", "NumericTest", "Flow",
    "Flowbits", "Flags", "Fragbits", "Threshold", "Unsupported", "Option", "AddressSpec", "PortSpec", "Rule",
    "FtpBounce",
]
