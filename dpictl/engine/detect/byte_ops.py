"""byte_test, byte_jump, byte_extract and byte_math: read a number out of a buffer.

Semantics follow Suricata 7 (the oracle): extraction must fit in the buffer, a `string`
field must start with at least one digit of its base, a bitmask is applied and the value
shifted right by the mask's trailing zero bits, and a byte_jump that lands past the end of
the buffer fails (exactly at the end is allowed; before the start is clamped to the start). Values named by `byte_extract`/`byte_math`
live in the per-inspection variable dict `env`.
"""

from __future__ import annotations

from dpictl.rules.ast import ByteExtract, ByteJump, ByteMath, ByteTest, IntOrVar

_BASES = {"hex": 16, "dec": 10, "oct": 8}
_DIGITS = {16: b"0123456789abcdefABCDEF", 10: b"0123456789", 8: b"01234567"}


def resolve(value: IntOrVar | None, env: dict[str, int], default: int = 0) -> int | None:
    """A number, or the value of a variable; None when the variable was never set."""
    if value is None:
        return default
    if isinstance(value, int):
        return value
    return env.get(value)


def read_number(buf: bytes, pos: int, count: int, endian: str, string: str | None,
                bitmask: int | None) -> int | None:
    """The value at buf[pos:pos+count], or None when it is out of range or not a number."""
    if pos < 0 or pos + count > len(buf) or count <= 0:
        return None
    raw = buf[pos:pos + count]
    if string:
        base = _BASES.get(string, 10)
        digits = _DIGITS[base]
        n = 0
        while n < len(raw) and raw[n] in digits:
            n += 1
        if n == 0:
            return None
        value = int(raw[:n], base)
    else:
        value = int.from_bytes(raw, endian)  # type: ignore[arg-type]
    if bitmask:
        value &= bitmask
        shift = (bitmask & -bitmask).bit_length() - 1
        value >>= shift
    return value


def _endian(op) -> str:
    return "little" if op.dce and op.endian == "big" else op.endian


def _read(op, buf: bytes, cursor: int, env: dict[str, int]) -> tuple[int, int] | None:
    """(position, value) of the number every byte_* keyword starts by reading, or None."""
    offset = resolve(op.offset, env)
    if offset is None:
        return None
    pos = (cursor if op.relative else 0) + offset
    value = read_number(buf, pos, op.count, _endian(op), op.string, op.bitmask)
    return None if value is None else (pos, value)


def _scaled(op, value: int) -> int:
    """byte_jump/byte_extract's `multiplier` then `align` (round up to a multiple)."""
    value *= op.multiplier
    if op.align and value % op.align:
        value += op.align - value % op.align
    return value


def byte_test(op: ByteTest, buf: bytes, cursor: int, env: dict[str, int]) -> bool:
    target = resolve(op.value, env)
    read = _read(op, buf, cursor, env) if target is not None else None
    if read is None:
        return False
    value = read[1]
    operator = op.operator
    negate = operator.startswith("!")
    if negate:
        operator = operator[1:] or "="
    result = _compare(value, operator, target)
    return result != negate


def _compare(value: int, operator: str, target: int) -> bool:
    if operator == "=":
        return value == target
    if operator == "<":
        return value < target
    if operator == ">":
        return value > target
    if operator == "<=":
        return value <= target
    if operator == ">=":
        return value >= target
    if operator == "&":
        return (value & target) != 0
    if operator == "^":
        return (value ^ target) != 0
    return False


def byte_jump(op: ByteJump, buf: bytes, cursor: int, env: dict[str, int]) -> int | None:
    """The new cursor, or None when the jump fails."""
    post = resolve(op.post_offset, env)
    read = _read(op, buf, cursor, env) if post is not None else None
    if read is None:
        return None
    pos, value = read[0], _scaled(op, read[1])
    if op.from_beginning:
        target = value
    elif op.from_end:
        target = len(buf) + value
    else:
        target = pos + op.count + value
    target += post
    # Measured on Suricata 7.0.10: a jump may land exactly at the end of the buffer, one
    # before its start lands on its start, one past its end fails.
    if target > len(buf):
        return None
    return max(target, 0)


def byte_extract(op: ByteExtract, buf: bytes, cursor: int, env: dict[str, int]) -> int | None:
    """Stores the value in env[op.name]; returns the cursor after the extracted bytes."""
    read = _read(op, buf, cursor, env)
    if read is None:
        return None
    pos, value = read
    env[op.name] = _scaled(op, value)
    return pos + op.count


def byte_math(op: ByteMath, buf: bytes, cursor: int, env: dict[str, int]) -> bool:
    rvalue = resolve(op.rvalue, env)
    read = _read(op, buf, cursor, env) if rvalue is not None else None
    if read is None:
        return False
    value = read[1]
    operator = op.operator
    if operator == "+":
        value += rvalue
    elif operator == "-":
        value -= rvalue
    elif operator == "*":
        value *= rvalue
    elif operator == "/":
        if rvalue == 0:
            return False
        value //= rvalue
    elif operator == "<<":
        value <<= rvalue
    elif operator == ">>":
        value >>= rvalue
    else:
        return False
    env[op.result] = value & 0xFFFFFFFF
    return True


__all__ = ["resolve", "read_number", "byte_test", "byte_jump", "byte_extract", "byte_math"]
