"""`content` and `pcre` values: pattern decoding, Snort 3 sub-options, Snort 2.9 pcre flags.

A content string mixes text and `|41 42|` hex blocks, with `\\"`, `\\;`, `\\\\` escapes.
Snort 3 appends its modifiers after the string (`content:"x",nocase,depth 4`); Snort 2.9
writes them as separate options, which `options.py` folds in afterwards. Snort 2.9 pcre
flags may also name the buffer to search (`/x/U` = http_uri); Snort 3 uses sticky buffers.
"""

from __future__ import annotations

import re

from dpictl.errors import RuleSyntaxError
from dpictl.rules.ast import Content, IntOrVar, Pcre
from dpictl.rules.tokens import split_args

_QUOTED = re.compile(r'\s*(!?)\s*"((?:[^"\\]|\\.)*)"', re.S)
_HEX_BLOCK = re.compile(r"\|([^|]*)\|")
_HEX_DIGITS = re.compile(r"[0-9A-Fa-f\s]*")
_ESCAPE = re.compile(r"\\(.)", re.S)
_INT = re.compile(r"[+-]?\d+\Z")
_VAR_NAME = re.compile(r"[A-Za-z_][A-Za-z0-9_]*\Z")

# Snort 2.9 pcre letters that choose a buffer (Snort 2.9 manual, "pcre" modifiers).
PCRE_BUFFER_FLAGS = {
    "U": "http_uri", "I": "http_raw_uri", "P": "http_client_body", "H": "http_header",
    "D": "http_raw_header", "M": "http_method", "C": "http_cookie", "K": "http_raw_cookie",
    "S": "http_stat_code", "Y": "http_stat_msg",
}
_PCRE_NATIVE_FLAGS = frozenset("ismxAEG")


def decode_pattern(text: str) -> bytes:
    """Decode the inside of a content string (`abc|0D 0A|\\"`) into bytes.

    Text is encoded as UTF-8 with surrogateescape, so bytes that were not UTF-8 in the rule
    file come back unchanged.
    """
    if "|" not in text:
        return _unescape(text)
    out = bytearray()
    pos = 0
    for m in _HEX_BLOCK.finditer(text):
        out += _unescape(text[pos:m.start()])
        out += _hex(m.group(1))
        pos = m.end()
    rest = text[pos:]
    if "|" in rest:
        raise RuleSyntaxError(f"unclosed |hex| block in content \"{text[:60]}\"")
    out += _unescape(rest)
    return bytes(out)


def _unescape(text: str) -> bytes:
    if "\\" in text:
        text = _ESCAPE.sub(r"\1", text)
    return text.encode("utf-8", "surrogateescape")


def _hex(block: str) -> bytes:
    if not _HEX_DIGITS.fullmatch(block):
        raise RuleSyntaxError(f"bad hex block |{block}| in content")
    digits = "".join(block.split())
    if len(digits) % 2:
        raise RuleSyntaxError(f"odd number of hex digits in |{block}|")
    return bytes.fromhex(digits)


def int_or_var(text: str, what: str) -> IntOrVar:
    """A number, or the name of a byte_extract/byte_math variable."""
    t = text.strip()
    if _INT.match(t):
        return int(t)
    if _VAR_NAME.match(t):
        return t
    raise RuleSyntaxError(f"{what} needs a number or a variable name, got {text!r}")


def parse_int(text: str, what: str) -> int:
    t = text.strip()
    try:
        return int(t, 0) if t.lower().startswith(("0x", "-0x")) else int(t)
    except ValueError:
        raise RuleSyntaxError(f"{what} needs a number, got {text!r}") from None


def parse_content(value: str | None, buffer: str) -> Content:
    """`[!]"pattern"[,sub-option...]` -> Content (Snort 3 sub-options applied)."""
    if value is None:
        raise RuleSyntaxError("content needs a quoted pattern")
    m = _QUOTED.match(value)
    if not m:
        raise RuleSyntaxError(f"content must be a quoted string, got {value[:60]!r}")
    content = Content(pattern=decode_pattern(m.group(2)), negated=bool(m.group(1)),
                      buffer=buffer)
    rest = value[m.end():].strip()
    if rest:
        if not rest.startswith(","):
            raise RuleSyntaxError(f"unexpected text after the content string: {rest[:40]!r}")
        for sub in split_args(rest[1:]):
            apply_content_modifier(content, *_split_sub(sub))
    if not content.pattern:
        raise RuleSyntaxError("empty content pattern")
    return content


def _split_sub(sub: str) -> tuple[str, str | None]:
    name, _, arg = sub.strip().partition(" ")
    return name.lower(), (arg.strip() or None)


def apply_content_modifier(content: Content, name: str, arg: str | None) -> None:
    """Apply one modifier, from a Snort 3 sub-option or a Snort 2.9 option."""
    if name in ("nocase", "rawbytes"):
        if arg is not None:
            raise RuleSyntaxError(f"{name} takes no value")
        setattr(content, name, True)
        if name == "rawbytes" and content.buffer == "pkt_data":
            content.buffer = "raw_data"     # what Snort 3 calls the un-normalised payload
    elif name in ("offset", "depth", "distance", "within"):
        if arg is None:
            raise RuleSyntaxError(f"{name} needs a value")
        setattr(content, name, int_or_var(arg, name))
    elif name == "fast_pattern":
        _fast_pattern(content, arg)
    elif name == "fast_pattern_offset" or name == "fast_pattern_length":
        lo, length = content.fast_pattern_range or (0, len(content.pattern))
        n = parse_int(arg or "", name)
        content.fast_pattern_range = (n, length) if name.endswith("offset") else (lo, n)
        content.fast_pattern = True
    else:
        raise RuleSyntaxError(f"unknown content modifier {name!r}")


def _fast_pattern(content: Content, arg: str | None) -> None:
    content.fast_pattern = True
    if arg is None:
        return
    if arg.strip() == "only":
        content.fast_pattern_only = True
        return
    parts = [p.strip() for p in arg.split(",")]
    if len(parts) != 2:
        raise RuleSyntaxError(f"fast_pattern takes 'only' or '<offset>,<length>', got {arg!r}")
    content.fast_pattern_range = (parse_int(parts[0], "fast_pattern offset"),
                                  parse_int(parts[1], "fast_pattern length"))


def quoted_value(value: str | None, keyword: str, shape: str) -> tuple[bool, str, str]:
    """`[!]"text"rest` -> (negated, text as written, rest stripped); for pcre and regex."""
    m = _QUOTED.match(value or "")
    if value is None or not m:
        raise RuleSyntaxError(f"{keyword} must be a quoted {shape}, got {(value or '')[:60]!r}")
    return bool(m.group(1)), m.group(2), value[m.end():].strip()


def parse_pcre(value: str | None, buffer: str) -> Pcre:
    """`[!]"/re/flags"` -> Pcre. Buffer letters (U, H, ...) override the sticky buffer."""
    negated, body, rest = quoted_value(value, "pcre", "\"/regex/flags\"")
    if rest:
        raise RuleSyntaxError(f"pcre must be a quoted \"/regex/flags\", got {value[:60]!r}")
    last = body.rfind("/")
    if not body.startswith("/") or last == 0:
        raise RuleSyntaxError(f"pcre must be written /regex/flags, got {body[:60]!r}")
    pcre = Pcre(pattern=body[1:last], negated=negated, buffer=buffer)
    native: list[str] = []
    for flag in body[last + 1:].strip():
        if flag in _PCRE_NATIVE_FLAGS:
            native.append(flag)
        elif flag in PCRE_BUFFER_FLAGS:
            pcre.buffer = PCRE_BUFFER_FLAGS[flag]
        elif flag == "R":
            pcre.relative = True
        elif flag == "B":
            pcre.rawbytes = True
        elif flag == "O":
            pass  # "override the match limit": dpictl always applies its own limit
        else:
            raise RuleSyntaxError(f"unknown pcre flag {flag!r} in {body[:60]!r}")
    pcre.flags = "".join(native)
    if pcre.rawbytes and pcre.buffer == "pkt_data":
        pcre.buffer = "raw_data"
    if not pcre.pattern:
        raise RuleSyntaxError("empty pcre pattern")
    return pcre


__all__ = ["PCRE_BUFFER_FLAGS", "decode_pattern", "int_or_var", "parse_int",
           "parse_content", "apply_content_modifier", "parse_pcre", "quoted_value"]
