"""The multi-pattern prefilter: both backends agree, NUL bytes and shared patterns work."""

from __future__ import annotations

import pytest

import dpictl.engine.detect.prefilter as prefilter_mod
from dpictl.engine.detect.prefilter import Prefilter

PATTERNS = [(b"abc", False), (b"\x00\x01\x00", False), (b"GET ", True), (b"abc", False),
            (b"ABC", True), (b"|", False)]

CASES = [
    (b"xxabcxx", {0, 3, 4}),
    (b"xxABCxx", {4}),
    (b"\x00\x01\x00", {1}),
    (b"get /", {2}),
    (b"nothing", set()),
    (b"", set()),
    (b"a|b", {5}),
]


@pytest.fixture(params=["hyperscan", "aho-corasick"])
def prefilter(request, monkeypatch):
    if request.param == "aho-corasick":
        monkeypatch.setattr(prefilter_mod, "hyperscan", None)
    pf = Prefilter(PATTERNS)
    assert pf.backend == request.param
    return pf


@pytest.mark.parametrize("buf,expected", CASES)
def test_scan(prefilter, buf, expected):
    assert set(prefilter.scan(buf)) == expected


def test_each_pattern_reported_once_per_scan(prefilter):
    assert sorted(prefilter.scan(b"abc abc abc")) == [0, 3, 4]


def test_empty_pattern_list():
    assert Prefilter([]).scan(b"abc") == []


def test_position_bounds_drop_impossible_hits():
    # (pattern, nocase, min_end, max_end): "ab" must end by offset 4, "cd" no earlier than 6
    pf = Prefilter([(b"ab", False, 0, 4), (b"cd", False, 6, 0)])
    if pf.backend != "hyperscan":
        pytest.skip("bounds are a hyperscan refinement")
    assert pf.scan(b"xxab") == [0]
    assert pf.scan(b"xxxab") == []
    assert pf.scan(b"xxcd") == []
    assert pf.scan(b"xxxxcd") == [1]


def test_bounded_fast_pattern_still_finds_its_rule():
    from detect_factories import make_packet, make_rule
    from dpictl.engine.detect import ThresholdTable, compile_rules
    from dpictl.rules import ast

    rule = make_rule(ast.Content(b"ABC", offset=2, depth=5, nocase=True), proto="udp")
    det = compile_rules([rule]).detector
    assert det.signatures[0].fast_bounds == (5, 7)
    hit = det.inspect_packet(make_packet(b"xxxxabc", proto=17), b"xxxxabc", None, None,
                             ThresholdTable())
    miss = det.inspect_packet(make_packet(b"xxxxxabc", proto=17), b"xxxxxabc", None, None,
                              ThresholdTable())
    assert [s.sid for s in hit] == [rule.sid] and miss == []


def test_max_end_bound_keeps_a_pattern_whose_first_occurrence_fits():
    """The max end is checked on the one match SINGLEMATCH reports: the earliest-ending,
    so a later, too-late occurrence never hides an early one and vice versa."""
    pf = Prefilter([(b"ab", False, 0, 4), (b"ab", False, 6, 8), (b"zz", True, 0, 3)])
    if pf.backend != "hyperscan":
        pytest.skip("bounds are a hyperscan refinement")
    assert pf.scan(b"xab" + b"yy" * 50 + b"ab") == [0]     # ends at 3 and at 105
    assert pf.scan(b"xxxab" + b"ab" * 50) == [1]           # ends at 5, 7, 9...
    assert pf.scan(b"abxxxxab") == [0, 1]           # ends at 2 and at 8
    assert pf.scan(b"abxxxxxab") == [0]             # the second ends at 9: past 8
    assert pf.scan(b"xZz" + b"zz" * 10) == [2]


@pytest.mark.parametrize("backend", ["hyperscan", "aho-corasick"])
def test_prefilter_survives_pickling(backend, monkeypatch):
    import pickle

    if backend == "aho-corasick":
        monkeypatch.setattr(prefilter_mod, "hyperscan", None)
    pf = Prefilter(PATTERNS + [(b"ab", False, 0, 4)])
    copy = pickle.loads(pickle.dumps(pf))
    assert copy.backend == backend
    for buf, _ in CASES:
        assert sorted(copy.scan(buf)) == sorted(pf.scan(buf))
    assert sorted(copy.scan(b"xxabc")) == [0, 3, 4, 6]


def test_short_and_long_bounded_patterns_agree_on_the_same_bounds():
    """Short patterns carry their bound into hyperscan, longer ones are checked on the
    reported end: both must give the same verdicts."""
    pf = Prefilter([(b"ab", False, 0, 4), (b"abcdef", False, 0, 8)])
    if pf.backend != "hyperscan":
        pytest.skip("bounds are a hyperscan refinement")
    assert sorted(pf.scan(b"xxabcdef")) == [0, 1]
    assert pf.scan(b"xxxabcdef") == []
    assert pf.scan(b"xxxabcdef" * 20) == []
    assert sorted(pf.scan(b"abcdefabcdef")) == [0, 1]
