"""Run one set of frames through Suricata 7 (the oracle) and through dpictl, same rules."""

from __future__ import annotations

import json
import subprocess
from collections import Counter
from pathlib import Path

from scapy.layers.l2 import Ether
from scapy.utils import wrpcap

from dpictl.engine import Engine
from dpictl.rules import parse_rules_text


def suricata_alerts(shared: Path, frames: list[bytes], rules: str, out: Path) -> Counter:
    """(sid) -> alert count from Suricata over `frames`, one process per call."""
    out.mkdir(parents=True, exist_ok=True)
    pcap, rules_file = out / "in.pcap", out / "probe.rules"
    pkts = [Ether(f) for f in frames]
    for i, p in enumerate(pkts):
        p.time = 1700000000 + i * 0.001
    wrpcap(str(pcap), pkts)
    rules_file.write_text(rules)
    (out / "eve.json").unlink(missing_ok=True)          # Suricata appends to it
    subprocess.run(["suricata", "-c", str(shared / "oracle" / "suricata.yaml"), "-S",
                    str(rules_file), "-r", str(pcap), "-l", str(out), "-k", "none",
                    "--runmode", "single"], check=True, capture_output=True, timeout=120)
    return Counter(json.loads(line)["alert"]["signature_id"]
                   for line in (out / "eve.json").read_text().splitlines()
                   if '"event_type":"alert"' in line)


def dpictl_alerts(frames: list[bytes], rules: str) -> Counter:
    ruleset = parse_rules_text(rules)
    assert not ruleset.errors, ruleset.errors
    engine = Engine(ruleset.rules)
    dets = []
    for i, frame in enumerate(frames):
        dets += engine.feed(1700000000.0 + i * 0.001, frame, 1)
    dets += engine.flush()
    return Counter(d.sid for d in dets)
