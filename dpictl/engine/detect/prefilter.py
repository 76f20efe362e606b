"""Multi-pattern prefilter: which signatures' fast patterns occur in a buffer.

Hyperscan (the matcher Suricata and Snort 3 use) scans a buffer once for every fast
pattern; SINGLEMATCH makes it report each pattern at most once per scan, so the Python
callback runs once per distinct hit rather than once per occurrence. Patterns are fed in
regex mode with every byte escaped, caseless where the content is `nocase`. When
hyperscan is missing or refuses a database, pyahocorasick does the same job on a raw and
a lower-cased copy of the buffer.

The database is compiled in the constructor, never on a packet, and a `Prefilter`
pickles as hyperscan's own serialized form (`dumpb`/`loadb`), which loads in microseconds:
that is what makes the on-disk rule cache (`dpictl.engine.rule_cache`) cheap to read.
"""

from __future__ import annotations

try:  # pragma: no cover - depends on the platform
    import hyperscan
except ImportError:  # pragma: no cover
    hyperscan = None  # type: ignore[assignment]

# Bigger than any buffer: "this pattern's match may end anywhere".
_UNBOUNDED = 1 << 62
# Up to this length a pattern's max-end bound is compiled into the database; longer ones
# are checked on the reported end offset (see `Prefilter.__init__`).
_SHORT = 4


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
        distinct = list(unique)
        # HS_EXT_FLAG_MAX_OFFSET on the community rules' longer patterns tripled the
        # database compile time (0.5 -> 1.4 s CPU), and costs nothing on patterns of up to
        # _SHORT bytes, which are the ones that match out of bounds all the time (99.5% of
        # the out-of-bound hits on the bench pcap: "|00 01|" at depth 4 and the like).
        # Longer patterns' bounds are checked on the end offset reported to the callback:
        # exact with SINGLEMATCH, as hyperscan reports matches in order of end offset, so
        # the one match reported per pattern is its earliest-ending one.
        self._max_end = [high if high and len(pat) > _SHORT else _UNBOUNDED
                         for pat, _, _, high in distinct]
        self._bounded = any(end != _UNBOUNDED for end in self._max_end)
        if not distinct:
            return
        if hyperscan is not None:
            try:
                self._hs = _hyperscan_db(distinct)
                return
            except Exception:  # pragma: no cover - fall back below
                self._hs = None
        self._ac_case, self._ac_nocase = _aho_corasick(distinct)

    @property
    def backend(self) -> str:
        return "hyperscan" if self._hs is not None else "aho-corasick"

    def scan(self, buf: bytes) -> list[int]:
        if not buf or self.size == 0:
            return []
        hits: list[int] = []
        if self._hs is not None:
            if self._bounded:
                self._hs.scan(buf, match_event_handler=_on_bounded_match,
                              context=(hits, self._max_end))
            else:
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

    # -- pickling: the hyperscan database travels in its serialized form --------------
    def __getstate__(self) -> dict:
        state = dict(self.__dict__)
        if self._hs is not None:
            state["_hs"] = hyperscan.dumpb(self._hs)
        return state

    def __setstate__(self, state: dict) -> None:
        blob = state.get("_hs")
        if blob is not None:
            if hyperscan is None:
                raise ValueError("a hyperscan database was cached but hyperscan is missing")
            # raises hyperscan.error on a database built for another platform or version
            db = hyperscan.loadb(blob, hyperscan.HS_MODE_BLOCK)
            db.scratch = hyperscan.Scratch(db)   # loadb gives a database without one
            state["_hs"] = db
        self.__dict__.update(state)


def _on_match(pid: int, _start: int, _end: int, _flags: int, hits: list[int]) -> None:
    hits.append(pid)


def _on_bounded_match(pid: int, _start: int, end: int, _flags: int,
                      context: tuple[list[int], list[int]]) -> None:
    hits, max_end = context
    if end <= max_end[pid]:
        hits.append(pid)


def _hyperscan_db(patterns: list[tuple[bytes, bool, int, int]]):
    base = hyperscan.HS_FLAG_SINGLEMATCH
    db = hyperscan.Database(mode=hyperscan.HS_MODE_BLOCK)
    ext = []
    for pat, _, low, high in patterns:
        high = high if len(pat) <= _SHORT else 0
        ext.append(((hyperscan.HS_EXT_FLAG_MIN_OFFSET if low else 0)
                    | (hyperscan.HS_EXT_FLAG_MAX_OFFSET if high else 0), low, high, 0, 0, 0))
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
    import ahocorasick  # only when hyperscan is unavailable: keeps start-up imports short

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
