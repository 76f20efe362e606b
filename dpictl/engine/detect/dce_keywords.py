"""`dce_iface` and `dce_opnum`, compiled once per rule (Snort 2.9 and Snort 3 spellings).

    dce_iface:<uuid>[,<op><version>][,any_frag]          Snort 2.9 / Suricata
    dce_iface:uuid <uuid>[,version <op><version>][,any_frag]   Snort 3
    dce_opnum:15 | 1,2 | 1-2 | "1-2"

`op` is one of `<`, `>`, `=`, `!` (Suricata's dcerpc.iface). Matching against a call is
in `dce_inspection`; this module only turns rule text into data.
"""

from __future__ import annotations

import re
import uuid as uuidlib
from dataclasses import dataclass

DCE_KEYWORDS = frozenset({"dce_iface", "dce_opnum"})
_VERSION = re.compile(r"^(?:version\s*)?([<>=!])\s*(\d{1,5})$")


class DceKeywordError(ValueError):
    """The keyword's value cannot be read; the message says why."""


@dataclass(frozen=True, slots=True)
class DceIface:
    uuid: bytes                       # canonical 16 bytes
    op: str | None = None             # version comparison, None: any version
    version: int = 0
    any_frag: bool = False

    def version_ok(self, version: int) -> bool:
        op, want = self.op, self.version
        if op is None:
            return True
        if op == "<":
            return version < want
        if op == ">":
            return version > want
        if op == "=":
            return version == want
        return version != want


@dataclass(frozen=True, slots=True)
class DceKeywords:
    """What a rule asks of a DCE/RPC call besides its stub data."""

    ifaces: tuple[DceIface, ...] = ()
    opnums: tuple[tuple[int, int], ...] | None = None      # inclusive ranges

    def opnum_ok(self, opnum: int) -> bool:
        return self.opnums is None or any(lo <= opnum <= hi for lo, hi in self.opnums)


def parse_iface(value: str | None) -> DceIface:
    args = [a.strip() for a in (value or "").split(",")]
    first = args[0]
    if first.startswith("uuid"):
        first = first[4:].strip()
    try:
        iface = uuidlib.UUID(first).bytes
    except ValueError:
        raise DceKeywordError(f"dce_iface: {first!r} is not a UUID") from None
    op, version, any_frag = None, 0, False
    for arg in args[1:]:
        if arg == "any_frag":
            any_frag = True
            continue
        m = _VERSION.match(arg)
        if m is None or op is not None:
            raise DceKeywordError(f"dce_iface: cannot read {arg!r}")
        op, version = m.group(1), int(m.group(2))
        if version > 65535:
            raise DceKeywordError(f"dce_iface: version {version} is out of range")
    return DceIface(iface, op, version, any_frag)


def parse_opnums(value: str | None) -> tuple[tuple[int, int], ...]:
    text = (value or "").strip().strip('"').strip()
    out = []
    for part in text.split(","):
        lo, sep, hi = part.strip().partition("-")
        try:
            low = int(lo)
            high = int(hi) if sep else low
        except ValueError:
            raise DceKeywordError(f"dce_opnum: cannot read {part.strip()!r}") from None
        if not 0 <= low <= high <= 65535:
            raise DceKeywordError(f"dce_opnum: bad range {part.strip()!r}")
        out.append((low, high))
    return tuple(out)


def compile_dce(options: list) -> DceKeywords:
    """`options`: the rule's dce_iface/dce_opnum Unsupported nodes. Raises DceKeywordError."""
    ifaces: list[DceIface] = []
    opnums: list[tuple[int, int]] | None = None
    for opt in options:
        if opt.keyword == "dce_iface":
            ifaces.append(parse_iface(opt.value))
        else:
            opnums = (opnums or []) + list(parse_opnums(opt.value))
    return DceKeywords(tuple(ifaces), tuple(opnums) if opnums is not None else None)


__all__ = ["DCE_KEYWORDS", "DceIface", "DceKeywords", "DceKeywordError", "compile_dce",
           "parse_iface", "parse_opnums"]
