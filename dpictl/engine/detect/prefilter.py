"""Multi-pattern prefilter: which signatures' fast patterns occur in a buffer.

Hyperscan (the matcher Suricata and Snort 3 use) scans a buffer once for every fast
pattern; SINGLEMATCH makes it report each pattern at most once per scan, so the Python
callback runs once per distinct hit rather than once per occurrence. Patterns are fed in
regex mode with every byte escaped, caseless where the content is `nocase`. When
hyperscan is missing or refuses a database, pyahocorasick does the same job on a raw and
a lower-cased copy of the buffer.
"""

from __future__ import annotations

try:  # pragma: no cover - depends on the platform
    import hyperscan
except ImportError:  # pragma: no cover
    hyperscan = None  # type: ignore[assignment]

import ahocorasick


class Prefilter:
    """`scan(buf) -> list[int]`: the ids (indices into the patterns list) found in buf."""

    def __init__(self, patterns: list[tuple]) -> None:
        """`patterns`: (bytes, nocase) or (bytes, nocase, min_end, max_end) where the ends
        bound the offset at which a match may end (0: unbounded)."""
        self.size = len(patterns)
        self._hs = None
        self._ac_case = self._ac_nocase = None
        # many rules share a fast pattern: match each distinct one once, then fan out
        unique: dict[tuple[bytes, bool, int, int], list[int]] = {}
        for pid, entry in enumerate(patterns):
            pat, nocase = entry[0], entry[1]
            low, high = (entry[2], entry[3]) if len(entry) > 2 else (0, 0)
            unique.setdefault((pat.lower() if nocase else pat, nocase, low, high),
                              []).append(pid)
        self._fanout = [tuple(ids) for ids in unique.values()]
        patterns = list(unique)
        if not patterns:
            return
        if hyperscan is not None:
            try:
                self._hs = _hyperscan_db(patterns)
                return
            except Exception:  # pragma: no cover - fall back below
                self._hs = None
        self._ac_case, self._ac_nocase = _aho_corasick(patterns)

    @property
    def backend(self) -> str:
        return "hyperscan" if self._hs is not None else "aho-corasick"

    def scan(self, buf: bytes) -> list[int]:
        if not buf or self.size == 0:
            return []
        hits: list[int] = []
        if self._hs is not None:
            self._hs.scan(buf, match_event_handler=_on_match, context=hits)
        else:
            seen: set[int] = set()
            if self._ac_case is not None:
                for _end, pid in self._ac_case.iter(buf):
                    seen.add(pid)
            if self._ac_nocase is not None:
                for _end, pid in self._ac_nocase.iter(buf.lower()):
                    seen.add(pid)
            hits = list(seen)
        fanout = self._fanout
        out: list[int] = []
        for uid in hits:
            out.extend(fanout[uid])
        return out


def _on_match(pid: int, _start: int, _end: int, _flags: int, hits: list[int]) -> None:
    hits.append(pid)


def _hyperscan_db(patterns: list[tuple[bytes, bool, int, int]]):
    base = hyperscan.HS_FLAG_SINGLEMATCH
    db = hyperscan.Database(mode=hyperscan.HS_MODE_BLOCK)
    ext = []
    for _, _, low, high in patterns:
        flags = ((hyperscan.HS_EXT_FLAG_MIN_OFFSET if low else 0)
                 | (hyperscan.HS_EXT_FLAG_MAX_OFFSET if high else 0))
        ext.append((flags, low, high, 0, 0, 0))
    # Regex mode with every byte escaped: the binding's literal mode stops at NUL bytes.
    db.compile(
        expressions=[b"".join(b"\\x%02x" % c for c in p) for p, *_ in patterns],
        ids=list(range(len(patterns))),
        elements=len(patterns),
        flags=[base | (hyperscan.HS_FLAG_CASELESS if nocase else 0)
               for _, nocase, *_ in patterns],
        ext=ext,
    )
    return db


def _aho_corasick(patterns: list[tuple[bytes, bool, int, int]]):
    """Position bounds are not applied here (a superset of candidates stays correct)."""
    case = ahocorasick.Automaton(ahocorasick.STORE_INTS, ahocorasick.KEY_SEQUENCE)
    nocase = ahocorasick.Automaton(ahocorasick.STORE_INTS, ahocorasick.KEY_SEQUENCE)
    n_case = n_nocase = 0
    for pid, (pat, ci, *_) in enumerate(patterns):
        if ci:
            nocase.add_word(tuple(pat.lower()), pid)
            n_nocase += 1
        else:
            case.add_word(tuple(pat), pid)
            n_case += 1
    for auto in (case, nocase):
        auto.make_automaton()
    return (_BytesAutomaton(case) if n_case else None,
            _BytesAutomaton(nocase) if n_nocase else None)


class _BytesAutomaton:
    """pyahocorasick keys bytes as integer sequences; this adapts `iter(bytes)`."""

    def __init__(self, auto) -> None:
        self._auto = auto

    def iter(self, buf: bytes):
        return self._auto.iter(tuple(buf))


__all__ = ["Prefilter"]
