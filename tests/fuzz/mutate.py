"""Byte-level mutations of a valid seed, drawn by Hypothesis: what a fuzzer does to a file
(flip, overwrite with interesting values, cut, insert, duplicate a slice)."""

from __future__ import annotations

from hypothesis import strategies as st

INTERESTING = [b"\x00", b"\xff", b"\x7f", b"\x80", b"\x00\x00", b"\xff\xff", b"\xff\xff\xff\xff",
               b"\x00\x00\x00\x00", b"\x7f\xff\xff\xff", b"\x80\x00\x00\x00", b"\x01\x00\x00\x00"]


@st.composite
def mutated(draw: st.DrawFn, seed: bytes, max_ops: int = 8) -> bytes:
    """`seed` after 1..max_ops random edits (never longer than twice the seed plus 1 KiB)."""
    data = bytearray(seed)
    for _ in range(draw(st.integers(1, max_ops))):
        at = draw(st.integers(0, max(len(data) - 1, 0)))
        op = draw(st.sampled_from(["flip", "value", "cut", "insert", "dup", "truncate"]))
        if op == "flip" and data:
            data[at] ^= 1 << draw(st.integers(0, 7))
        elif op == "value":
            data[at:at + 4] = draw(st.sampled_from(INTERESTING))
        elif op == "cut":
            del data[at:at + draw(st.integers(1, 64))]
        elif op == "insert":
            data[at:at] = draw(st.binary(min_size=1, max_size=64))
        elif op == "dup" and len(data) < 2 * len(seed) + 1024:
            data[at:at] = data[at:at + draw(st.integers(1, 256))]
        elif op == "truncate":
            del data[at:]
    return bytes(data)
