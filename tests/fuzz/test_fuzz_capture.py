"""pcap and pcapng readers, and the decoder behind them, on mutated capture files: the only
error is PcapError (strict) or none at all (lenient), every frame read decodes without an
internal error, and reading ends (records are bounded by the file's size)."""

from __future__ import annotations

import os
import tempfile
from pathlib import Path

import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

from dpictl.capture import open_pcap
from dpictl.engine.decode import Decoder
from dpictl.errors import PcapError

from .budget import examples
from .mutate import mutated

SHARED = Path(__file__).resolve().parents[2].parent / "shared" / "pcaps"
SEED_LIMIT = 16 * 1024


def _seed(name: str) -> bytes:
    path = SHARED / name
    if not path.is_file():
        pytest.fail(f"{path} is missing: the shared pcaps must sit beside the project")
    return path.read_bytes()[:SEED_LIMIT]


SEEDS = {name: _seed(name) for name in ("cs-dns_tcp.pcapng", "cs-ipv6_fragments.pcapng",
                                        "cs-http_post.pcapng", "ec-impacket_psexec.pcap")}


def _read(data: bytes, strict: bool) -> list[tuple[bytes, int]]:
    fd, name = tempfile.mkstemp(suffix=".pcap")
    try:
        os.write(fd, data)
        os.close(fd)
        with open_pcap(name, strict=strict) as source:
            return [(frame, linktype) for _, frame, linktype, _ in source]
    finally:
        os.unlink(name)


def _decode_all(frames: list[tuple[bytes, int]]) -> None:
    decoder = Decoder()
    for num, (frame, linktype) in enumerate(frames):
        decoder.decode(float(num), frame, linktype, num=num)
    assert decoder.stats["internal_errors"] == 0


@settings(max_examples=examples(150))
@given(data=st.sampled_from(sorted(SEEDS)).flatmap(lambda n: mutated(SEEDS[n])))
def test_mutated_capture_files(data: bytes) -> None:
    try:
        _read(data, strict=True)
    except PcapError:
        pass
    try:
        frames = _read(data, strict=False)
    except PcapError:
        return                                  # not a capture file at all: said so
    assert sum(len(f) for f, _ in frames) <= len(data)
    _decode_all(frames)


@settings(max_examples=examples(60))
@given(data=st.binary(max_size=512))
def test_random_bytes_are_not_a_capture_file(data: bytes) -> None:
    try:
        _read(data, strict=False)
    except PcapError:
        pass
