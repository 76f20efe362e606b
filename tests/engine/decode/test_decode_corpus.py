"""The decoder over every shared pcap: no frame escapes as an exception, the inlined fast
path agrees with the general decoders, and the VXLAN capture decodes to its inner packets."""

from __future__ import annotations

import pytest
from decode_factories import SHARED_PCAPS, corpus_frames

from dpictl.engine.decode import Decoder

PCAPS = sorted(p.name for p in SHARED_PCAPS.glob("*.pcap*"))


@pytest.mark.parametrize("name", PCAPS)
def test_fast_and_general_paths_agree_on_real_traffic(name):
    fast, slow = Decoder(), Decoder()
    slow.fast_path = False
    for num, (ts, frame, linktype, iface) in enumerate(corpus_frames(name), 1):
        assert fast.decode(ts, frame, linktype, iface, num) == \
            slow.decode(ts, frame, linktype, iface, num), f"{name} frame {num}"
    assert fast.stats == slow.stats
    assert fast.stats["internal_errors"] == 0


def test_vxlan_capture_decodes_inner_packets():
    decoder = Decoder()
    packets = [decoder.decode(ts, f, lt, None, n)
               for n, (ts, f, lt, _) in enumerate(corpus_frames("sv-vxlan.pcap"), 1)]
    assert all(p is not None and p.tunnels == ("vxlan",) for p in packets)
    ntp, syn = packets[0], packets[2]
    assert (ntp.src, ntp.dst, ntp.ip_proto, ntp.dport) == ("172.31.0.238", "78.46.93.39", 17, 123)
    assert (syn.src, syn.sport, syn.dst, syn.dport, syn.tcp_flags) == (
        "18.196.145.224", 37180, "172.31.0.238", 22, 0x02)
    assert syn.tcp_options[:4] == b"\x02\x04\x05\xb4"          # MSS 1460, kept raw
    assert decoder.stats["tunneled"] == 100


def test_tso_frames_with_zero_ip_length_are_counted_malformed():
    decoder = Decoder()
    for ts, frame, linktype, _ in corpus_frames("cs-mail_sender_attachment.pcapng"):
        decoder.decode(ts, frame, linktype)
    assert decoder.stats["malformed"] == 19 and decoder.stats["decoded"] == 58 - 19


def test_ipv6_http2_capture_has_text_addresses():
    decoder = Decoder()
    first = next(p for ts, f, lt, _ in corpus_frames("sv-http2-keywords.pcap")
                 if (p := decoder.decode(ts, f, lt)) is not None and p.ip_version == 6)
    assert ":" in first.src and first.ip_proto == 6 and first.ip_header[0] >> 4 == 6
