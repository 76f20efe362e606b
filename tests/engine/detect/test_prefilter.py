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
