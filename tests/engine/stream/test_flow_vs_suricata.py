"""Cross-check against the oracle itself: per packet, the direction and `flow:established` we
compute must be what Suricata 7 computes on the same capture (four probe rules, one per
combination, and the packet numbers each fires on). Skipped when `suricata` is not installed.
"""

from __future__ import annotations

import json
import shutil
import subprocess
from pathlib import Path

import pytest

from dpictl.capture import open_pcap
from dpictl.engine.decode import Decoder
from dpictl.engine.flow_table import FlowTable

SHARED = Path(__file__).resolve().parents[3].parent / "shared"
CAPTURES = ["ec-impacket_psexec.pcap", "ec-ultra_lab_03-14.pcap", "ec-macgyver.pcap",
            "cs-synscan.pcapng", "cs-tcp_retransmissions.pcapng", "sv-ftp-download-passive.pcap"]
PROBES = {1: "flow:established,to_server;", 2: "flow:established,to_client;",
          3: "flow:not_established,to_server;", 4: "flow:not_established,to_client;"}

pytestmark = [
    pytest.mark.slow,
    pytest.mark.skipif(shutil.which("suricata") is None, reason="suricata is not installed"),
]


def _suricata(pcap: Path, out: Path) -> dict[int, set[int]]:
    rules = out / "probe.rules"
    rules.write_text("".join(f'alert ip any any -> any any (msg:"{sid}"; {body} sid:{sid};)\n'
                             for sid, body in PROBES.items()))
    oracle = SHARED / "oracle"
    subprocess.run(
        ["suricata", "-c", str(oracle / "suricata.yaml"), "-S", str(rules), "-r", str(pcap),
         "-l", str(out), "-k", "none", "--runmode", "single", "--set", "packet-alert-max=1000",
         "--set", f"classification-file={SHARED / 'rules' / 'classification.config'}",
         "--set", f"reference-config-file={SHARED / 'rules' / 'reference.config'}"],
        check=True, capture_output=True, timeout=300)
    seen: dict[int, set[int]] = {}
    for line in (out / "eve.json").read_text().splitlines():
        event = json.loads(line)
        if event.get("event_type") == "alert" and event.get("pcap_cnt"):
            seen.setdefault(event["pcap_cnt"], set()).add(event["alert"]["signature_id"])
    return seen


def _ours(pcap: Path) -> dict[int, set[int]]:
    decoder, table = Decoder(), FlowTable()
    seen: dict[int, set[int]] = {}
    for num, (ts, frame, linktype, iface) in enumerate(open_pcap(str(pcap)), 1):
        pkt = decoder.decode(ts, frame, linktype, iface, num)
        if pkt is None or not pkt.ip_proto:
            continue
        flow, to_server = table.lookup(pkt)
        table.pop_evicted()
        if flow is not None:
            seen[num] = {(1 if to_server else 2) if flow.established else (3 if to_server else 4)}
    return seen


@pytest.mark.parametrize("capture", CAPTURES)
def test_direction_and_established_match_suricata(capture, tmp_path):
    pcap = SHARED / "pcaps" / capture
    if not pcap.exists():
        pytest.skip(f"{pcap} not available")
    theirs, ours = _suricata(pcap, tmp_path), _ours(pcap)
    diff = [(n, theirs.get(n), ours.get(n)) for n in sorted(set(theirs) | set(ours))
            if theirs.get(n) != ours.get(n)]
    assert diff == []
