"""Options that test the packet or the flow rather than a payload buffer.

`flow`, `flowbits`, `flags`, `fragbits`, the numeric comparisons (`dsize`, `urilen`,
`bufferlen`, `itype`, `icode`, `ttl`, `id`, ...), `stream_size`, `threshold` and
`detection_filter`.
"""

from __future__ import annotations

import re
import socket

from dpictl.errors import RuleSyntaxError
from dpictl.rules.ast import Flags, Flow, Flowbits, Fragbits, NumericTest, Threshold
from dpictl.rules.content import parse_int
from dpictl.rules.tokens import split_args

NUMERIC_KEYWORDS = frozenset({
    "dsize", "urilen", "bufferlen", "ttl", "id", "icmp_id", "icmp_seq", "itype", "icode",
    "seq", "ack", "window", "ip_proto", "tos", "stream_size", "fragoffset",
})

_FLOW_WORDS = {
    "established": "established", "not_established": "not_established",
    "stateless": "stateless", "to_server": "to_server", "from_client": "to_server",
    "to_client": "to_client", "from_server": "to_client", "only_stream": "only_stream",
    "no_stream": "no_stream", "only_frag": "only_frag", "no_frag": "no_frag",
}
_FLOWBITS_COMMANDS = frozenset({"set", "setx", "unset", "toggle", "isset", "isnotset",
                                "noalert", "reset"})
_RANGE = re.compile(r"([+-]?\d+)\s*(<=>|<>)\s*([+-]?\d+)\Z")
_COMPARE = re.compile(r"(<=|>=|!=|<|>|=|!)?\s*([+-]?(?:0x[0-9a-fA-F]+|\d+))\Z")
_TTL_DASH = re.compile(r"(\d*)\s*-\s*(\d*)\Z")
_IP_PROTOS = {"ip": 0, "icmp": 1, "igmp": 2, "tcp": 6, "udp": 17, "ipv6": 41, "gre": 47,
              "esp": 50, "ah": 51, "icmpv6": 58, "ipv6-icmp": 58, "ospf": 89, "pim": 103,
              "sctp": 132}
# Snort 2.9 writes `<>` for an inclusive range on these (Snort 3 writes `<=>`).
_SNORT2_INCLUSIVE = frozenset({"dsize", "urilen"})
_STREAM_DIRECTIONS = {"client": "client", "server": "server", "both": "both",
                      "either": "either", "to_server": "client", "to_client": "server"}


def parse_flow(value: str | None) -> Flow:
    flow = Flow()
    for word in split_args(value or ""):
        attr = _FLOW_WORDS.get(word.lower())
        if attr is None:
            raise RuleSyntaxError(f"unknown flow option {word!r}")
        setattr(flow, attr, True)
    if flow.to_server and flow.to_client:
        raise RuleSyntaxError("flow cannot be both to_server and to_client")
    return flow


def parse_flowbits(value: str | None) -> Flowbits:
    args = split_args(value or "")
    if not args or args[0].lower() not in _FLOWBITS_COMMANDS:
        raise RuleSyntaxError(f"flowbits needs a command ({', '.join(sorted(_FLOWBITS_COMMANDS))})")
    command = args[0].lower()
    if len(args) == 1:
        if command not in ("noalert", "reset"):
            raise RuleSyntaxError(f"flowbits:{command} needs a bit name")
        return Flowbits(command=command)
    names_text = args[1]
    any_of = "|" in names_text
    names = tuple(n.strip() for n in re.split(r"[&|]", names_text) if n.strip())
    if not names or ("&" in names_text and any_of):
        raise RuleSyntaxError(f"bad flowbits names {names_text!r}")
    return Flowbits(command=command, names=names, any_of=any_of)


def _flag_chars(text: str) -> str:
    # Snort 2.9 calls CWR and ECE "1" and "2"; normalise to the Snort 3 letters C and E.
    return text.upper().replace("1", "C").replace("2", "E")


def parse_flags(value: str | None) -> Flags:
    head, _, mask = (value or "").partition(",")
    head = head.strip()
    modifier = ""
    if head[:1] in "+*!" and head:
        modifier, head = head[0], head[1:]
    elif head[-1:] in "+*!" and head:
        modifier, head = head[-1], head[:-1]
    flags = _flag_chars(head.strip())
    mask = _flag_chars(mask.strip())
    if not flags or not re.fullmatch(r"[FSRPAUCE0]+", flags) or not re.fullmatch(
            r"[FSRPAUCE]*", mask):
        raise RuleSyntaxError(f"bad flags {value!r} (letters F S R P A U C E 0, 1 and 2)")
    return Flags(flags=flags, modifier=modifier, mask=mask)


def parse_fragbits(value: str | None) -> Fragbits:
    text = (value or "").strip()
    modifier = ""
    if text[:1] in "+*!" and text:
        modifier, text = text[0], text[1:]
    elif text[-1:] in "+*!" and text:
        modifier, text = text[-1], text[:-1]
    bits = text.strip().upper()
    if not bits or not re.fullmatch(r"[MDR]+", bits):
        raise RuleSyntaxError(f"bad fragbits {value!r} (letters M D R)")
    return Fragbits(bits=bits, modifier=modifier)


def parse_numeric(keyword: str, value: str | None, syntax: str,
                  buffer: str | None = None) -> NumericTest:
    """Parse a numeric comparison keyword; `buffer` is the sticky buffer (for bufferlen)."""
    if value is None:
        raise RuleSyntaxError(f"{keyword} needs a value")
    args = split_args(value)
    extra: str | None = None
    if keyword == "stream_size":
        args, extra = _stream_size_args(args)
    test = _comparison(keyword, args[0] if args else "", syntax)
    if keyword == "urilen":
        test.raw = True                  # Snort 2.9's default is the raw URI
    for flag in args[1:]:
        if keyword == "urilen" and flag in ("norm", "raw"):
            test.raw = flag == "raw"
        elif keyword == "bufferlen" and flag == "relative":
            test.relative = True
        else:
            raise RuleSyntaxError(f"unknown {keyword} argument {flag!r}")
    if keyword == "urilen":
        test.buffer = "http_raw_uri" if test.raw else "http_uri"
    elif keyword == "bufferlen":
        test.buffer = buffer
    test.extra = extra
    return test


def _stream_size_args(args: list[str]) -> tuple[list[str], str]:
    if len(args) == 3 and args[0] in _STREAM_DIRECTIONS:        # Snort 2.9: server,=,1
        return [args[1] + args[2]], _STREAM_DIRECTIONS[args[0]]
    if len(args) == 2 and args[1] in _STREAM_DIRECTIONS:        # Snort 3: 1,to_client
        return [args[0]], _STREAM_DIRECTIONS[args[1]]
    if len(args) == 1:
        return args, "either"
    raise RuleSyntaxError(f"bad stream_size {','.join(args)!r}")


def _comparison(keyword: str, text: str, syntax: str) -> NumericTest:
    t = text.strip()
    m = _RANGE.match(t)
    if m:
        lo, op, hi = int(m.group(1)), m.group(2), int(m.group(3))
        if op == "<>" and syntax == "snort2" and keyword in _SNORT2_INCLUSIVE:
            op = "<=>"
        return NumericTest(keyword=keyword, op=op, value=lo, high=hi)
    if keyword == "ip_proto":
        neg, name = (t[:1] if t[:1] in "!<>" else ""), t.lstrip("!<>").strip()
        if name and not name[0].isdigit():
            number = _IP_PROTOS.get(name.lower())
            if number is None:
                number = _proto_by_name(name)
            return NumericTest(keyword=keyword, op={"!": "!=", "": "="}.get(neg, neg),
                               value=number)
    if keyword == "ttl":
        d = _TTL_DASH.match(t)
        if d and (d.group(1) or d.group(2)):
            lo, hi = d.group(1), d.group(2)
            if lo and hi:
                return NumericTest(keyword=keyword, op="<=>", value=int(lo), high=int(hi))
            return NumericTest(keyword=keyword, op="<=" if hi else ">=", value=int(lo or hi))
    m = _COMPARE.match(t)
    if not m:
        raise RuleSyntaxError(f"bad {keyword} value {text!r}")
    op = m.group(1) or "="
    return NumericTest(keyword=keyword, op="!=" if op == "!" else op,
                       value=parse_int(m.group(2), keyword))


def _proto_by_name(name: str) -> int:
    try:
        return socket.getprotobyname(name)
    except (OSError, ValueError):          # ValueError: a NUL in the name (found by fuzzing)
        raise RuleSyntaxError(f"unknown ip_proto {name!r}") from None


def parse_threshold(keyword: str, value: str | None) -> Threshold:
    """`threshold:type T, track X, count N, seconds N` and `detection_filter:track X, ...`."""
    fields: dict[str, str] = {}
    for arg in split_args(value or ""):
        name, _, rest = arg.partition(" ")
        fields[name.strip().lower()] = rest.strip()
    kind = "detection_filter" if keyword == "detection_filter" else fields.get("type", "")
    if kind not in ("limit", "threshold", "both", "detection_filter"):
        raise RuleSyntaxError(f"{keyword} type must be limit, threshold or both")
    track = fields.get("track", "")
    if track not in ("by_src", "by_dst"):
        raise RuleSyntaxError(f"{keyword} track must be by_src or by_dst, got {track!r}")
    for needed in ("count", "seconds"):
        if needed not in fields:
            raise RuleSyntaxError(f"{keyword} needs {needed}")
    return Threshold(kind=kind, track=track,  # type: ignore[arg-type]
                     count=parse_int(fields["count"], "count"),
                     seconds=parse_int(fields["seconds"], "seconds"))


__all__ = ["NUMERIC_KEYWORDS", "parse_flow", "parse_flowbits", "parse_flags",
           "parse_fragbits", "parse_numeric", "parse_threshold"]
