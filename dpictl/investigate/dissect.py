"""One packet dissected by Wireshark's dissectors, through pyshark, as a layer tree.

pyshark runs tshark on a one-packet capture and gives its PDML back as layers of fields;
each field keeps Wireshark's `showname` ("Source Port: 43512"), which is what an analyst
reads in Wireshark's detail pane. Fields Wireshark hides there (resolved duplicates,
generated helpers) are left out here too. Without tshark (or pyshark) `dissect` raises
`DissectorMissing`, and the caller shows a hex dump instead.
"""

from __future__ import annotations

import tempfile
from dataclasses import dataclass, field
from pathlib import Path

import dpkt

INSTALL_HINT = "install Wireshark's tshark (Debian/Ubuntu: apt-get install tshark)"


class DissectorMissing(Exception):
    """tshark or pyshark is not installed."""


@dataclass(slots=True)
class Field:
    name: str          # tshark's field name, e.g. "tcp.srcport" ("" for a text line)
    showname: str      # what Wireshark's detail pane shows
    value: str

    def to_dict(self) -> dict:
        return {"name": self.name, "showname": self.showname, "value": self.value}


@dataclass(slots=True)
class Layer:
    name: str                                  # "eth", "ip", "tcp", "http" ...
    fields: list[Field] = field(default_factory=list)

    def to_dict(self) -> dict:
        return {"layer": self.name, "fields": [f.to_dict() for f in self.fields]}


def dissect(packet: bytes, linktype: int, ts: float) -> list[Layer]:
    """The packet's layers, outermost first."""
    try:
        import pyshark
        from pyshark.tshark.tshark import get_process_path
    except ImportError:
        raise DissectorMissing("pyshark is not installed") from None
    try:
        get_process_path()
    except Exception:  # pyshark's TSharkNotFoundException and friends
        raise DissectorMissing("tshark is not installed") from None
    with tempfile.TemporaryDirectory(prefix="dpictl-dissect-") as tmp:
        path = Path(tmp) / "packet.pcap"
        with path.open("wb") as fh:
            writer = dpkt.pcap.Writer(fh, snaplen=262144, linktype=linktype)
            writer.writepkt(packet, ts=ts)
        capture = pyshark.FileCapture(str(path))
        try:
            packets = list(capture)
        finally:
            capture.close()
    if not packets:
        return []
    return [_layer(layer) for layer in packets[0].layers]


def _layer(layer: object) -> Layer:
    out = Layer(name=str(getattr(layer, "layer_name", "?")))
    for item in getattr(layer, "_all_fields", {}).values():
        if getattr(item, "hide", None):
            continue
        showname = item.showname or item.show or ""
        if not showname:
            continue
        out.fields.append(Field(name=item.name or "", showname=str(showname),
                                value=str(item.show if item.show is not None else "")))
    return out


__all__ = ["dissect", "Layer", "Field", "DissectorMissing", "INSTALL_HINT"]
