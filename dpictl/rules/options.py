"""The option list of one rule -> typed `Option` nodes in rule order, plus the rule's metadata.

This is where the two syntaxes meet. A small state machine walks the options once:
- Snort 3 sticky buffers (`http_uri;`, `file_data;`, `pkt_data;`) set the buffer of every
  content/pcre/byte_*/isdataat/bufferlen that follows, until the next buffer keyword;
- Snort 2.9 modifiers (`nocase;`, `depth:4;`, `http_header;`) fold into the last content;
  `file_data`, `pkt_data`, `base64_data`, `dce_stub_data` and `sip_header/body` are sticky
  in Snort 2.9 too;
- keywords the engine cannot evaluate become `Unsupported` nodes, so the rule still loads
  and the engine can say which rules it skips and why.
"""

from __future__ import annotations

from dataclasses import dataclass, field

from dpictl.errors import RuleSyntaxError
from dpictl.rules import byte_options as byte
from dpictl.rules.ber_options import parse_ber_data, parse_ber_skip
from dpictl.rules import packet_options as pkt
from dpictl.rules.ast import Content, FtpBounce, Option, Pcre, Unsupported
from dpictl.rules.content import apply_content_modifier, parse_content, parse_int, parse_pcre
from dpictl.rules.dialect import HTTP_BUFFER_KEYWORDS, Syntax
from dpictl.rules.regex_option import parse_regex
from dpictl.rules.tokens import split_args, unquote

STICKY_BUFFERS = frozenset({"file_data", "pkt_data", "raw_data", "base64_data",
                            "dce_stub_data", "sip_header", "sip_body"})
CONTENT_MODIFIERS = frozenset({"nocase", "rawbytes", "depth", "offset", "distance", "within",
                               "fast_pattern"})
# Recognised, parsed no further: the engine reports rules that use them.
UNSUPPORTED = frozenset({
    "tag", "ssl_state", "ssl_version", "sip_method", "sip_stat_code", "dce_iface",
    "dce_opnum", "asn1", "cvs", "file_type",
    "sd_pattern", "gtp_type", "gtp_info", "gtp_version", "modbus_func", "modbus_unit",
    "modbus_data", "dnp3_func", "dnp3_ind", "dnp3_obj", "dnp3_data", "cip_attribute",
    "cip_class", "cip_conn_path_class", "cip_instance", "cip_req", "cip_rsp", "cip_service",
    "cip_status", "enip_command", "enip_req", "enip_rsp", "iec104_apci_type",
    "iec104_asdu_func", "s7commplus_content", "s7commplus_func", "s7commplus_opcode",
    "rpc", "sameip", "ipopts", "session", "resp", "react", "replace",
    "logto", "activates", "activated_by", "count", "http_encode", "appids", "file_id",
    "icmp_id_seq", "ssl_cert", "pkt_num", "target", "so",
    # Snort 3 HTTP/file/other keywords the engine has no evaluator for
    "http_trailer", "http_raw_trailer", "http_num_headers", "http_num_trailers",
    "http_num_cookies", "http_max_header_line", "http_max_trailer_line",
    "http_version_match", "http_header_test", "http_trailer_test", "script_data",
    "md5", "sha256", "sha512", "file_meta", "enable", "mms_func", "mms_data", "cip_data",
})
_BYTE_PARSERS = {
    "byte_test": byte.parse_byte_test, "byte_jump": byte.parse_byte_jump,
    "byte_extract": byte.parse_byte_extract, "byte_math": byte.parse_byte_math,
    "isdataat": byte.parse_isdataat, "base64_decode": byte.parse_base64_decode,
    # cursor-moving like byte_jump, and evaluated in the same chains
    "ber_data": parse_ber_data, "ber_skip": parse_ber_skip,
}
_IGNORED = frozenset({"rem", "soid"})
_RULE_FIELDS = frozenset({"msg", "sid", "gid", "rev", "priority", "classtype", "reference",
                          "metadata", "service"})


@dataclass(slots=True)
class RuleFields:
    """What the option list says about the rule itself (not detection)."""

    msg: str = ""
    sid: int | None = None
    gid: int = 1
    rev: int = 1
    classtype: str | None = None
    priority: int | None = None
    services: list[str] = field(default_factory=list)
    metadata: list[str] = field(default_factory=list)
    references: list[str] = field(default_factory=list)


class OptionBuilder:
    """Walks one rule's options in order; `build()` returns (options, fields)."""

    def __init__(self, syntax: Syntax) -> None:
        self.syntax = syntax
        self.options: list[Option] = []
        self.fields = RuleFields()
        self.buffer = "pkt_data"
        self.field: str | None = None
        self.last_content: Content | None = None
        # Snort 2.9: the buffer the last content/pcre matched in, where relative byte_* and
        # isdataat continue (Snort 3's converter puts them in that content's sticky buffer)
        self.last_match: Content | Pcre | None = None

    def build(self, raw: list[tuple[str, str | None]]) -> tuple[list[Option], RuleFields]:
        for keyword, value in raw:
            try:
                self._one(keyword, value)
            except RuleSyntaxError as err:
                if err.message.startswith(keyword):
                    raise
                raise RuleSyntaxError(f"{keyword[:40]}: {err.message}") from None
        return self.options, self.fields

    def _one(self, keyword: str, value: str | None) -> None:
        if keyword in _RULE_FIELDS:          # half of all options: test them first
            self._rule_field(keyword, value)
        elif keyword == "content" or keyword == "uricontent":
            buffer = "http_uri" if keyword == "uricontent" else self.buffer
            node = parse_content(value, buffer)
            node.field = self.field if keyword == "content" else None
            self.last_content = self.last_match = node
            self.options.append(node)
        elif keyword == "pcre":
            pcre = parse_pcre(value, self.buffer)
            if pcre.buffer == self.buffer:
                pcre.field = self.field
                at = self.last_match if self.syntax == "snort2" else None
                if pcre.relative and at is not None and not pcre.rawbytes:
                    pcre.buffer, pcre.field = at.buffer, at.field   # 2.9 /R: same cursor
            self.last_match = pcre
            self.options.append(pcre)
        elif keyword == "regex":               # Snort 3: a hyperscan-compatible pcre
            node = parse_regex(value, self.buffer)
            node.field = self.field
            self.last_match = node
            self.options.append(node)
        elif keyword in CONTENT_MODIFIERS:
            self._modifier(keyword, value)
        elif keyword in HTTP_BUFFER_KEYWORDS:
            self._http_buffer(keyword, value)
        elif keyword in STICKY_BUFFERS:
            self.buffer, self.field = keyword, None
            self.last_match = None
        elif keyword in _BYTE_PARSERS:
            at = self.last_match if self.syntax == "snort2" else None
            node = _BYTE_PARSERS[keyword](value, at.buffer if at else self.buffer)
            node.field = at.field if at else self.field
            self.options.append(node)
        elif keyword in pkt.NUMERIC_KEYWORDS:
            self.options.append(pkt.parse_numeric(keyword, value, self.syntax, self.buffer))
        elif keyword in _PACKET_PARSERS:
            self.options.append(_PACKET_PARSERS[keyword](value))
        elif keyword == "ftpbounce":
            if value is not None:
                raise RuleSyntaxError("ftpbounce takes no value")
            self.options.append(FtpBounce())
        elif keyword in ("threshold", "detection_filter"):
            self.options.append(pkt.parse_threshold(keyword, value))
        elif keyword in UNSUPPORTED:
            self.options.append(Unsupported(keyword=keyword, value=value))
        elif keyword not in _IGNORED:
            raise RuleSyntaxError(f"unknown rule option {keyword[:40]!r}")

    def _modifier(self, keyword: str, value: str | None) -> None:
        if self.last_content is None:
            raise RuleSyntaxError(f"{keyword} must follow a content option")
        apply_content_modifier(self.last_content, keyword, value)

    def _http_buffer(self, keyword: str, value: str | None) -> None:
        if self.syntax == "snort2" and self.last_content is not None and value is None:
            self.last_content.buffer = keyword      # Snort 2.9 modifier of the last content
            self.last_content.field = None
            return
        self.buffer, self.field = keyword, None     # Snort 3 sticky buffer
        self.last_match = None
        if value is None:
            return
        if keyword == "http_param":
            args = split_args(value)
            self.field = unquote(args[0], "http_param name").lower()
            return
        for arg in split_args(value):
            name, _, rest = arg.partition(" ")
            if name == "field" and rest.strip():
                self.field = rest.strip().lower()
            # other sub-options (request, with_body, with_trailer, scheme, path, ...) narrow
            # which message part is inspected; the HTTP layer uses the normal choice

    def _rule_field(self, keyword: str, value: str | None) -> None:
        f = self.fields
        if keyword == "msg":
            f.msg = unquote(value or "", "msg")
        elif keyword in ("sid", "gid", "rev", "priority"):
            number = parse_int(value or "", keyword)
            if number < 0 or (keyword == "sid" and number == 0):
                raise RuleSyntaxError(f"{keyword} must be a positive number, got {value!r}")
            setattr(f, keyword, number)
        elif keyword == "classtype":
            if not value:
                raise RuleSyntaxError("classtype needs a name")
            f.classtype = value.strip()
        elif keyword == "reference":
            f.references.append(value or "")
        elif keyword == "metadata":
            for item in split_args(value or ""):
                f.metadata.append(item)
                key, _, rest = item.partition(" ")
                if key == "service" and rest.strip():
                    f.services.append(rest.strip().lower())
        else:  # service
            f.services.extend(s.lower() for s in split_args(value or ""))


_PACKET_PARSERS = {
    "flow": pkt.parse_flow, "flowbits": pkt.parse_flowbits, "flags": pkt.parse_flags,
    "fragbits": pkt.parse_fragbits,
}

__all__ = ["OptionBuilder", "RuleFields", "STICKY_BUFFERS", "CONTENT_MODIFIERS",
           "UNSUPPORTED"]
