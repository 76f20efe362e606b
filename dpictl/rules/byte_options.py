"""`byte_test`, `byte_jump`, `byte_extract`, `byte_math`, `isdataat`, `base64_decode`.

Both syntaxes share the positional core (`byte_test:4,>,1000,0`); the trailing flags differ
a little: Snort 2.9 writes `string,dec`, Snort 3 also accepts bare `dec`/`hex`/`oct`, and
byte_math is keyed (`bytes 4, offset 0, oper +, rvalue 1, result x`) in both.
"""

from __future__ import annotations

from collections.abc import Callable

from dpictl.errors import RuleSyntaxError
from dpictl.rules.ast import Base64Decode, ByteExtract, ByteJump, ByteMath, ByteTest, IsDataAt
from dpictl.rules.content import int_or_var, parse_int
from dpictl.rules.tokens import split_args

_OPERATORS = frozenset({"<", ">", "<=", ">=", "=", "&", "^", "!=", "!&", "!^", "!<", "!>",
                        "!<=", "!>="})
_MATH_OPERATORS = frozenset({"+", "-", "*", "/", "<<", ">>"})
_NUM_TYPES = frozenset({"hex", "dec", "oct"})


def _args(keyword: str, value: str | None, minimum: int) -> list[str]:
    if value is None:
        raise RuleSyntaxError(f"{keyword} needs arguments")
    args = split_args(value)
    if len(args) < minimum:
        raise RuleSyntaxError(f"{keyword} needs at least {minimum} arguments, got {value!r}")
    return args


def _count(text: str, keyword: str, maximum: int) -> int:
    n = parse_int(text, f"{keyword} byte count")
    if not 1 <= n <= maximum:
        raise RuleSyntaxError(f"{keyword} byte count must be 1..{maximum}, got {n}")
    return n


def _apply_flags(node: object, keyword: str, flags: list[str],
                 extra: Callable[[str, str | None], bool] | None = None) -> None:
    """The flags every byte_* keyword shares; `extra` handles keyword-specific ones."""
    for flag in flags:
        name, _, arg_text = flag.partition(" ")
        name = name.strip().lower()
        arg = arg_text.strip() or None
        if name == "relative":
            node.relative = True  # type: ignore[attr-defined]
        elif name in ("big", "little"):
            node.endian = name  # type: ignore[attr-defined]
        elif name == "string":
            node.string = arg if arg in _NUM_TYPES else (node.string or "dec")  # type: ignore
        elif name in _NUM_TYPES:
            node.string = name  # type: ignore[attr-defined]
        elif name == "dce":
            node.dce = True  # type: ignore[attr-defined]
        elif name == "bitmask" and arg is not None:
            node.bitmask = parse_int(arg, "bitmask")  # type: ignore[attr-defined]
        elif extra is not None and extra(name, arg):
            continue
        else:
            raise RuleSyntaxError(f"unknown {keyword} argument {flag!r}")


def _multiplier_or_align(node: ByteJump | ByteExtract, name: str, arg: str | None,
                         bare_align: int | None) -> bool:
    """`multiplier N` and `align N`, which byte_jump and byte_extract share. Only byte_jump
    takes a bare `align` (round up to a 4-byte boundary); `bare_align` None refuses it."""
    if name == "multiplier" and arg:
        node.multiplier = parse_int(arg, "multiplier")
    elif name == "align" and (arg or bare_align is not None):
        node.align = parse_int(arg, "align") if arg else bare_align  # type: ignore[assignment]
    else:
        return False
    return True


def parse_byte_test(value: str | None, buffer: str) -> ByteTest:
    args = _args("byte_test", value, 4)
    op = args[1].replace(" ", "")
    if op not in _OPERATORS:
        raise RuleSyntaxError(f"byte_test operator {args[1]!r} is not one of < > <= >= = & ^")
    node = ByteTest(count=_count(args[0], "byte_test", 10), operator=op,
                    value=_value(args[2], "byte_test value"),
                    offset=int_or_var(args[3], "byte_test offset"), buffer=buffer)
    _apply_flags(node, "byte_test", args[4:])
    return node


def _value(text: str, what: str) -> int | str:
    t = text.strip()
    if t[:1].isdigit() or t[:1] == "-":
        return parse_int(t, what)
    return int_or_var(t, what)


def parse_byte_jump(value: str | None, buffer: str) -> ByteJump:
    args = _args("byte_jump", value, 2)
    node = ByteJump(count=_count(args[0], "byte_jump", 10),
                    offset=int_or_var(args[1], "byte_jump offset"), buffer=buffer)

    def extra(name: str, arg: str | None) -> bool:
        if name == "from_beginning" and arg is None:
            node.from_beginning = True
        elif name == "from_end" and arg is None:
            node.from_end = True
        elif name == "post_offset" and arg:
            node.post_offset = int_or_var(arg, "post_offset")
        else:
            return _multiplier_or_align(node, name, arg, bare_align=4)
        return True

    _apply_flags(node, "byte_jump", args[2:], extra)
    return node


def parse_byte_extract(value: str | None, buffer: str) -> ByteExtract:
    args = _args("byte_extract", value, 3)
    name = int_or_var(args[2], "byte_extract variable name")
    if not isinstance(name, str):
        raise RuleSyntaxError(f"byte_extract needs a variable name, got {args[2]!r}")
    node = ByteExtract(count=_count(args[0], "byte_extract", 10),
                       offset=int_or_var(args[1], "byte_extract offset"), name=name,
                       buffer=buffer)
    _apply_flags(node, "byte_extract", args[3:],
                 lambda flag, arg: _multiplier_or_align(node, flag, arg, bare_align=None))
    return node


def parse_byte_math(value: str | None, buffer: str) -> ByteMath:
    keyed: dict[str, str] = {}
    flags: list[str] = []
    for arg in _args("byte_math", value, 5):
        name, _, rest = arg.partition(" ")
        if name in ("bytes", "offset", "oper", "rvalue", "result") and rest.strip():
            keyed[name] = rest.strip()
        else:
            flags.append(arg)
    missing = [k for k in ("bytes", "offset", "oper", "rvalue", "result") if k not in keyed]
    if missing:
        raise RuleSyntaxError(f"byte_math is missing {', '.join(missing)}")
    if keyed["oper"] not in _MATH_OPERATORS:
        raise RuleSyntaxError(f"byte_math oper {keyed['oper']!r} is not one of + - * / << >>")
    node = ByteMath(count=_count(keyed["bytes"], "byte_math", 10),
                    offset=int_or_var(keyed["offset"], "byte_math offset"),
                    operator=keyed["oper"], rvalue=_value(keyed["rvalue"], "rvalue"),
                    result=str(int_or_var(keyed["result"], "byte_math result")), buffer=buffer)
    _apply_flags(node, "byte_math", flags)
    return node


def parse_isdataat(value: str | None, buffer: str) -> IsDataAt:
    args = _args("isdataat", value, 1)
    first = args[0]
    negated = first.startswith("!")
    node = IsDataAt(offset=int_or_var(first.lstrip("!"), "isdataat"), negated=negated,
                    buffer=buffer)
    for flag in args[1:]:
        if flag == "relative":
            node.relative = True
        elif flag == "rawbytes":
            node.rawbytes = True
        else:
            raise RuleSyntaxError(f"unknown isdataat argument {flag!r}")
    return node


def parse_base64_decode(value: str | None, buffer: str) -> Base64Decode:
    node = Base64Decode(buffer=buffer)
    for arg in split_args(value or ""):
        name, _, rest = arg.partition(" ")
        if name == "relative" and not rest.strip():
            node.relative = True
        elif name == "bytes" and rest.strip():
            node.bytes = parse_int(rest, "base64_decode bytes")
        elif name == "offset" and rest.strip():
            node.offset = parse_int(rest, "base64_decode offset")
        else:
            raise RuleSyntaxError(f"unknown base64_decode argument {arg!r}")
    return node


__all__ = ["parse_byte_test", "parse_byte_jump", "parse_byte_extract", "parse_byte_math",
           "parse_isdataat", "parse_base64_decode"]
