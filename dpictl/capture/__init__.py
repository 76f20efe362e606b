"""Packet sources, files and live AF_PACKET rings: iterables of `Frame` tuples."""

from __future__ import annotations

from dpictl.capture.afpacket import AfPacketSource
from dpictl.capture.frame import Frame, LivePacketSource, PacketSource
from dpictl.capture.pcap_file import PcapSource, open_pcap

__all__ = ["Frame", "PacketSource", "LivePacketSource", "PcapSource", "open_pcap",
           "AfPacketSource"]
