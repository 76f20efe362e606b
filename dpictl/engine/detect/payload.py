"""Content inspection of one buffer: content, pcre, byte_*, isdataat, base64_decode,
ber_data/ber_skip and `bufferlen:...,relative`.

A buffer's options form a chain evaluated left to right with a cursor (the end of the last
match). As in Suricata (detect-engine-content-inspection.c), a content or pcre whose next
option is relative to it is retried at its next occurrence when the rest of the chain
fails, and a failed *absolute* match ends the whole inspection at once (no earlier match
can change its outcome). Results are tri-state for that reason: MATCH, NO_MATCH (the caller
may backtrack) and STOP. A step budget bounds the backtracking like Suricata's
inspection recursion limit.
"""

from __future__ import annotations

import binascii
import re

from dpictl.engine.detect import ber, byte_ops
from dpictl.engine.detect.packet_checks import numeric_compare
from dpictl.engine.detect.regex import Regex
from dpictl.rules.ast import (Base64Decode, BerData, BerSkip, ByteExtract, ByteJump, ByteMath,
                              ByteTest, Content, IsDataAt, NumericTest, Pcre)

MATCH, NO_MATCH, STOP = 1, 0, -1
STEP_BUDGET = 3000

(K_CONTENT, K_PCRE, K_TEST, K_JUMP, K_EXTRACT, K_MATH, K_DATAAT, K_B64, K_BER_DATA,
 K_BER_SKIP, K_LEN) = range(11)
_KINDS = {Content: K_CONTENT, Pcre: K_PCRE, ByteTest: K_TEST, ByteJump: K_JUMP,
          ByteExtract: K_EXTRACT, ByteMath: K_MATH, IsDataAt: K_DATAAT, Base64Decode: K_B64,
          BerData: K_BER_DATA, BerSkip: K_BER_SKIP,
          NumericTest: K_LEN}     # only `bufferlen:...,relative` reaches a chain
_MATCHERS = frozenset({K_CONTENT, K_PCRE})
_B64_RUN = re.compile(rb"[A-Za-z0-9+/=\r\n ]*")


class Op:
    """One compiled option of a chain. `rel_next`: the next option is relative to this one."""

    __slots__ = ("kind", "node", "pattern", "nocase", "negated", "relative", "rel_next",
                 "regex", "min_start", "ends_with", "fixed", "start", "span", "length_ok")

    def __init__(self, node) -> None:
        self.kind = _KINDS[type(node)]
        self.node = node
        self.pattern = b""
        self.nocase = False
        self.negated = bool(getattr(node, "negated", False))
        self.rel_next = False
        self.min_start: int | None = None   # lowest start Suricata's limit propagation allows
        self.ends_with = False              # the match must end the buffer (folded isdataat)
        self.regex: Regex | None = None
        # a content whose offset/depth/distance/within are all numbers (not byte_extract
        # variables) has its window precomputed: `start` (offset, or distance) and `span`
        # (depth, or within; None: to the end of the buffer)
        self.fixed = False
        self.start = 0
        self.span: int | None = None
        if self.kind == K_CONTENT:
            self.nocase = node.nocase
            self.pattern = node.pattern.lower() if node.nocase else node.pattern
            self.relative = node.relative
            first, second = ((node.distance, node.within) if self.relative
                             else (node.offset, node.depth))
            if not isinstance(first, str) and not isinstance(second, str):
                self.fixed = True
                self.start = first or 0
                self.span = second
        else:
            self.relative = bool(getattr(node, "relative", False))
        if self.kind == K_PCRE:
            self.regex = Regex(node.pattern, node.flags)
        # bufferlen:...,relative: the test on the number of bytes left after the cursor
        self.length_ok = (numeric_compare(node.op, node.value, node.high)
                          if self.kind == K_LEN else None)


def compile_chain(nodes: list) -> tuple[Op, ...]:
    """Compile one buffer's options (in rule order); raises RegexError for a bad pcre."""
    ops = _fold_ends_with([Op(node) for node in nodes])
    # Which content/pcre is retried at its next occurrence when what follows fails
    # (Suricata's DETECT_CONTENT_RELATIVE_NEXT), as measured on Suricata 7.0.10: a relative
    # content or pcre binds to the nearest earlier content/pcre, skipping absolute keywords
    # in between (isdataat:5, byte_test without relative); a relative byte_*/isdataat binds
    # only to the keyword right before it.
    for j, op in enumerate(ops):
        if not op.relative or j == 0:
            continue
        if op.kind in _MATCHERS:
            for k in range(j - 1, -1, -1):
                if ops[k].kind in _MATCHERS:
                    ops[k].rel_next = True
                    break
        elif ops[j - 1].kind in _MATCHERS:
            ops[j - 1].rel_next = True
    _propagate_negated_limits(ops)
    return tuple(ops)


def _fold_ends_with(ops: list[Op]) -> list[Op]:
    """Suricata turns `content:X; isdataat:!1,relative;` into "X ends the buffer"
    (endswith on the content), which differs from the literal reading for a negated X:
    "the buffer does not end with X" rather than "nothing follows the cursor"."""
    out: list[Op] = []
    for op in ops:
        node = op.node
        if (op.kind == K_DATAAT and op.negated and op.relative and node.offset == 1
                and out and out[-1].kind == K_CONTENT and not out[-1].ends_with):
            out[-1].ends_with = True
            continue
        out.append(op)
    return out


def _propagate_negated_limits(ops: list[Op]) -> None:
    """Suricata's DetectContentPropagateLimits, for one case measured on 7.0.10: a content
    with `distance` after a negated content without offset/depth/relative keywords may not
    start before that content's length + distance, as if the negated content had matched
    at the start (with offset/depth on the negated content nothing is propagated)."""
    for j, op in enumerate(ops):
        if op.kind != K_CONTENT or not isinstance(op.node.distance, int):
            continue
        for k in range(j - 1, -1, -1):
            prev = ops[k]
            if prev.kind in _MATCHERS:
                if (prev.kind == K_CONTENT and prev.negated and not prev.relative
                        and prev.node.offset is None and prev.node.depth is None):
                    op.min_start = len(prev.pattern) + op.node.distance
                break


class ChainState:
    """What one signature's evaluation carries from chain to chain: byte_extract variables,
    the lower-cased buffer cache, the backtracking budget and the base64_decode output."""

    __slots__ = ("env", "budget", "base64", "_lower_src", "_lower")

    def __init__(self) -> None:
        self.env: dict[str, int] = {}
        self.budget = STEP_BUDGET
        self.base64 = b""
        self._lower_src: bytes | None = None
        self._lower = b""

    def lower(self, buf: bytes) -> bytes:
        if buf is not self._lower_src:
            self._lower_src = buf
            self._lower = buf.lower()
        return self._lower


def match_chain(ops: tuple[Op, ...], buf: bytes, st: ChainState) -> bool:
    return _run(ops, 0, buf, 0, st) == MATCH


def _run(ops: tuple[Op, ...], i: int, buf: bytes, cursor: int, st: ChainState) -> int:
    n = len(ops)
    env = st.env
    while i < n:
        op = ops[i]
        kind = op.kind
        if kind == K_CONTENT:
            node = op.node
            blen = len(buf)
            if op.fixed:
                span = op.span
                if op.relative:
                    start = cursor + op.start
                    end = blen if span is None else min(blen, start + span)
                    if start < 0:
                        start = 0
                    if op.min_start is not None and start < op.min_start:
                        start = op.min_start
                else:
                    start = op.start
                    end = blen if span is None else min(blen, start + span)
            elif op.relative:
                dist = byte_ops.resolve(node.distance, env)
                if dist is None:
                    return NO_MATCH
                start = cursor + dist
                if start < 0:
                    start = 0
                if op.min_start is not None and start < op.min_start:
                    start = op.min_start
                end = blen
                if node.within is not None:
                    within = byte_ops.resolve(node.within, env)
                    if within is None:
                        return NO_MATCH
                    end = min(blen, cursor + dist + within)
            else:
                start = byte_ops.resolve(node.offset, env)
                if start is None:
                    return STOP
                end = blen
                if node.depth is not None:
                    depth = byte_ops.resolve(node.depth, env)
                    if depth is None:
                        return STOP
                    end = min(blen, start + depth)
            hay = st.lower(buf) if op.nocase else buf
            pat = op.pattern
            if op.ends_with:       # only one place can match: the end of the buffer
                last = blen - len(pat)
                pos = last if (end == blen and last >= start
                               and hay.startswith(pat, last)) else -1
            else:
                pos = hay.find(pat, start, end) if end - start >= len(pat) else -1
            if op.negated:
                if pos >= 0:
                    return NO_MATCH if op.relative else STOP
                i += 1
                continue
            if pos < 0:
                return NO_MATCH if op.relative else STOP
            if not op.rel_next:
                cursor = pos + len(pat)
                i += 1
                continue
            while True:
                st.budget -= 1
                if st.budget < 0:
                    return STOP
                saved = dict(env) if env else None
                r = _run(ops, i + 1, buf, pos + len(pat), st)
                if r != NO_MATCH:
                    return r
                if saved is not None:
                    env.clear()
                    env.update(saved)
                if op.ends_with:
                    return NO_MATCH
                pos = hay.find(pat, pos + 1, end) if end - pos - 1 >= len(pat) else -1
                if pos < 0:
                    return NO_MATCH
        elif kind == K_PCRE:
            start = cursor if op.relative else 0
            sub = buf[start:] if start else buf
            span = op.regex.search(sub, 0)  # type: ignore[union-attr]
            if op.negated:
                if span is not None:
                    return NO_MATCH if op.relative else STOP
                i += 1
                continue
            if span is None:
                return NO_MATCH if op.relative else STOP
            if not op.rel_next:
                cursor = start + span[1]
                i += 1
                continue
            while True:
                st.budget -= 1
                if st.budget < 0:
                    return STOP
                r = _run(ops, i + 1, buf, start + span[1], st)
                if r != NO_MATCH:
                    return r
                nxt = span[0] + 1
                if nxt > len(sub):
                    return NO_MATCH
                span = op.regex.search(sub, nxt)  # type: ignore[union-attr]
                if span is None:
                    return NO_MATCH
        elif kind == K_TEST:
            if not byte_ops.byte_test(op.node, buf, cursor, env):
                return NO_MATCH
            i += 1
        elif kind == K_JUMP:
            new = byte_ops.byte_jump(op.node, buf, cursor, env)
            if new is None:
                return NO_MATCH
            cursor = new
            i += 1
        elif kind == K_EXTRACT:
            new = byte_ops.byte_extract(op.node, buf, cursor, env)
            if new is None:
                return NO_MATCH
            cursor = new
            i += 1
        elif kind == K_MATH:
            if not byte_ops.byte_math(op.node, buf, cursor, env):
                return NO_MATCH
            i += 1
        elif kind == K_DATAAT:
            if not _isdataat(op, buf, cursor, env):
                return NO_MATCH
            i += 1
        elif kind == K_BER_DATA or kind == K_BER_SKIP:
            new = (ber.ber_data(op.node, buf, cursor) if kind == K_BER_DATA
                   else ber.ber_skip(op.node, buf, cursor))
            if new is None:
                return NO_MATCH
            cursor = new
            i += 1
        elif kind == K_LEN:
            # Snort 3 (ips_bufferlen.cc): relative compares the cursor's remaining length
            if not op.length_ok(len(buf) - cursor):  # type: ignore[misc]
                return NO_MATCH
            i += 1
        else:  # K_B64
            st.base64 = _base64_decode(op.node, buf, cursor)
            i += 1
    return MATCH


def _isdataat(op: Op, buf: bytes, cursor: int, env: dict[str, int]) -> bool:
    n = byte_ops.resolve(op.node.offset, env)
    if n is None:
        return False
    if op.relative:
        # Suricata: at least n bytes after the cursor (detect-isdataat.c)
        present = cursor + n <= len(buf)
    else:
        present = n < len(buf)
    return present != op.negated


def _base64_decode(node: Base64Decode, buf: bytes, cursor: int) -> bytes:
    start = (cursor if node.relative else 0) + (node.offset or 0)
    data = buf[start:start + node.bytes] if node.bytes else buf[start:]
    run = _B64_RUN.match(data)
    text = run.group(0).replace(b"\r", b"").replace(b"\n", b"").replace(b" ", b"") if run else b""
    text = text.split(b"=")[0]
    text = text[: len(text) - len(text) % 4] if len(text) % 4 == 1 else text
    text += b"=" * (-len(text) % 4)
    try:
        return binascii.a2b_base64(text)
    except (binascii.Error, ValueError):
        return b""


__all__ = ["Op", "ChainState", "compile_chain", "match_chain", "MATCH", "NO_MATCH", "STOP",
           "STEP_BUDGET"]
