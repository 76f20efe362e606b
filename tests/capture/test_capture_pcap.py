"""pcap and pcapng readers: the shared corpus, every format variant, and every kind of bad file."""

from __future__ import annotations

import json
import os
import time
from pathlib import Path

import dpkt
import pytest
from capture_factories import (MAGIC_NS, MAGIC_US, block, classic, epb, idb, pb, shb, spb)

from dpictl.capture import PacketSource, open_pcap
from dpictl.errors import PcapError

SHARED = Path(__file__).resolve().parents[3] / "shared"
PCAPS = sorted(p.name for p in (SHARED / "pcaps").glob("*.pcap*"))
FRAME = bytes(range(60))


def write(tmp_path: Path, data: bytes, name: str = "f.pcap") -> Path:
    path = tmp_path / name
    path.write_bytes(data)
    return path


@pytest.mark.parametrize("name", PCAPS)
def test_shared_pcap_counts_match_the_oracle(name):
    expected = json.loads((SHARED / "oracle" / "expected" / f"{name}.json").read_text())["packets"]
    with open_pcap(SHARED / "pcaps" / name) as source:
        assert isinstance(source, PacketSource)
        assert source.size == os.path.getsize(SHARED / "pcaps" / name)
        records = list(source)
        assert source.position == source.size and source.error is None
    assert len(records) == expected == source.count
    assert all(lt == source.linktype == 1 and iface is None for _, _, lt, iface in records)


@pytest.mark.parametrize("name", ["sv-vxlan.pcap", "cs-ipv6_fragments.pcapng"])
def test_frames_and_timestamps_match_dpkt(name):
    path = SHARED / "pcaps" / name
    with open(path, "rb") as handle:
        reader = (dpkt.pcapng.Reader if name.endswith("ng") else dpkt.pcap.Reader)(handle)
        theirs = [(ts, bytes(buf)) for ts, buf in reader]
    with open_pcap(path) as source:
        ours = [(ts, frame) for ts, frame, _, _ in source]
    assert [f for _, f in ours] == [f for _, f in theirs]
    assert all(abs(a - b) < 1e-6 for (a, _), (b, _) in zip(ours, theirs))


@pytest.mark.parametrize(("order", "magic", "frac", "expected"), [
    ("<", MAGIC_US, 250_000, 1700000000.25), (">", MAGIC_US, 250_000, 1700000000.25),
    ("<", MAGIC_NS, 500_000_000, 1700000000.5), (">", MAGIC_NS, 1, 1700000000.000000001)])
def test_classic_byte_orders_and_time_units(tmp_path, order, magic, frac, expected):
    data = classic([(1700000000, frac, FRAME), (1700000001, 0, FRAME[:20])], order=order,
                   magic=magic, linktype=101)
    with open_pcap(write(tmp_path, data)) as source:
        records = list(source)
    assert source.linktype == 101 and source.format == "pcap"
    assert records[0] == (pytest.approx(expected, abs=1e-9), FRAME, 101, None)
    assert records[1][1] == FRAME[:20]


def test_pcapng_interfaces_resolutions_and_block_kinds(tmp_path):
    data = (shb() + idb(1, name="eth0") + idb(101, tsresol=9) + idb(228, tsresol=0x80 | 10,
                                                                     tsoffset=100)
            + block(4, b"\0" * 8)                       # name resolution block: skipped
            + epb(0, 1_700_000_000_250_000, FRAME)
            + epb(1, 1_700_000_000_500_000_000, FRAME[:30])
            + epb(2, 3 * 1024 + 512, FRAME[:40])
            + spb(FRAME[:10])
            + pb(0, 2_000_000, FRAME[:5])
            + block(5, b"\0" * 12))                     # interface statistics: skipped
    with open_pcap(write(tmp_path, data, "f.pcapng")) as source:
        records = list(source)
        assert source.linktype == 1 and source.format == "pcapng"
        assert source.position == source.size
    assert [(lt, len(f)) for _, f, lt, _ in records] == [(1, 60), (101, 30), (228, 40), (1, 10),
                                                        (1, 5)]
    times = [ts for ts, *_ in records]
    assert times[:3] == [pytest.approx(1700000000.25), pytest.approx(1700000000.5),
                         pytest.approx(103.5)]
    assert times[3] == times[2]                         # SPB: no timestamp, previous kept
    assert times[4] == pytest.approx(2.0)


def test_pcapng_big_endian_then_little_endian_section(tmp_path):
    data = (shb(">") + idb(1, order=">") + epb(0, 5_000_000, FRAME, order=">")
            + shb("<") + idb(113) + epb(0, 7_000_000, FRAME[:16]))
    with open_pcap(write(tmp_path, data, "f.pcapng")) as source:
        records = list(source)
    assert [(ts, lt, len(f)) for ts, f, lt, _ in records] == [(5.0, 1, 60), (7.0, 113, 16)]


@pytest.mark.parametrize(("content", "message"), [
    (None, "no such file"), (b"", "empty file"), (os.urandom(4096), "not a pcap or pcapng"),
    (b"\xd4\xc3\xb2\xa1\x02\x00", "truncated pcap header"),
    (b"\n\r\r\n\x1c\x00\x00\x00", "truncated pcapng"),
    (b"\n\r\r\n" + b"\x1c\0\0\0" + b"\xde\xad\xbe\xef" + b"\0" * 16, "not a valid pcapng")])
def test_not_a_capture_raises_at_open(tmp_path, content, message):
    path = tmp_path / "bad.pcap"
    if content is not None:
        path.write_bytes(content)
    with pytest.raises(PcapError, match=message) as err:
        open_pcap(path)
    assert str(path) in str(err.value) and "\n" not in str(err.value)


def test_directory_raises(tmp_path):
    with pytest.raises(PcapError, match="is a directory"):
        open_pcap(tmp_path)


def _three_packets() -> bytes:
    return classic([(1, 0, FRAME), (2, 0, FRAME), (3, 0, FRAME)])


def test_truncated_record_yields_what_came_before_then_raises(tmp_path):
    data = _three_packets()[:-10]
    source = open_pcap(write(tmp_path, data))
    seen = []
    with pytest.raises(PcapError, match=r"truncated after 2 packets"):
        for record in source:
            seen.append(record)
    assert len(seen) == 2 and source.error.endswith("50 left")


def test_truncated_record_with_strict_off_stops_and_records_the_error(tmp_path):
    source = open_pcap(write(tmp_path, _three_packets()[:-70]), strict=False)
    assert len(list(source)) == 2
    assert "truncated after 2 packets" in source.error


def test_absurd_caplen_is_corrupt_and_cheap(tmp_path):
    data = classic([(1, 0, FRAME)]) + classic([(2, 0, FRAME)], caplen=2**31)[24:]
    source = open_pcap(write(tmp_path, data))
    started = time.monotonic()
    with pytest.raises(PcapError, match=r"corrupt after 1 packets: .*2147483648"):
        list(source)
    assert time.monotonic() - started < 1.0


@pytest.mark.parametrize(("tail", "message"), [
    (b"\x06\0\0\0\x0d\0\0\0" + b"\0" * 8, "impossible length 13"),
    (b"\x06\0\0\0\x08\0\0\0" + b"\0" * 8, "impossible length 8"),
    (b"\x06\0\0\0\x00\x00\x00\x80" + b"\0" * 8, "needs 2147483648 bytes"),
    (block(6, b"\0" * 24)[:-4] + b"\x99\0\0\0", "trailer says 153"),
    (epb(0, 1, FRAME, caplen=2**31 - 1), "claims 2147483647 bytes"),
    (epb(3, 1, FRAME), "undeclared interface 3")])
def test_pcapng_bad_blocks_after_good_packets(tmp_path, tail, message):
    data = shb() + idb(1) + epb(0, 1, FRAME) + tail
    source = open_pcap(write(tmp_path, data, "f.pcapng"))
    with pytest.raises(PcapError, match=r"after 1 packets: .*" + message):
        list(source)


@pytest.mark.parametrize("name", ["lab-smk.pcap", "cs-dns_axfr.pcapng"])
def test_every_truncation_of_a_real_file(tmp_path, name):
    data = (SHARED / "pcaps" / name).read_bytes()
    with open_pcap(SHARED / "pcaps" / name) as source:
        complete = list(source)
    path = tmp_path / name
    for cut in range(0, len(data), 7):
        path.write_bytes(data[:cut])
        try:
            source = open_pcap(path, strict=False)
        except PcapError:
            continue
        got = list(source)
        source.close()
        assert got == complete[:len(got)]
        assert source.error is not None or len(got) == len(complete) or cut == source.position


def _mapped_rss_kib(path: Path) -> int:
    """Resident KiB of our mappings of `path`, from /proc/self/smaps."""
    total, inside = 0, False
    for line in Path("/proc/self/smaps").read_text().splitlines():
        first = line.split(maxsplit=1)[0]
        if "-" in first and not first.endswith(":"):
            inside = line.rstrip().endswith(str(path))
        elif inside and first == "Rss:":
            total += int(line.split()[1])
    return total


@pytest.mark.skipif(not Path("/proc/self/smaps").exists(), reason="needs Linux /proc")
def test_pages_already_read_leave_the_resident_set(tmp_path: Path) -> None:
    """A long capture must not keep the whole file resident: RSS is a figure we report."""
    import struct

    path = tmp_path / "big.pcap"
    frame = b"\xaa" * 1400
    record = struct.pack("<IIII", 1, 0, len(frame), len(frame)) + frame
    with path.open("wb") as out:
        out.write(struct.pack("<IHHiIII", 0xA1B2C3D4, 2, 4, 0, 0, 65535, 1))
        out.write(record * 24000)                        # ~34 MB
    with open_pcap(path) as src:
        n = 0
        for _ts, data, _lt, _if in src:
            n += 1
            if n == 23000:
                resident = _mapped_rss_kib(path)
        assert n == 24000
    assert resident < 16 * 1024, f"{resident} KiB of the file still resident"
