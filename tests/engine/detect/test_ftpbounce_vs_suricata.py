"""`ftpbounce` against the oracle: crafted FTP sessions (PORT with the client's own address,
with a third party's, spacing, case, a 256 octet, several commands per segment) run through
Suricata 7 and dpictl with probe rules; every session must raise the same probe alerts in
both. Skipped when `suricata` is not installed (one run, a few seconds).

Community SID 3441 (`content:"PORT"; ftpbounce; pcre:...`) is the exception, recorded here:
Suricata 7.0.10 raises it on none of these sessions (a rule mixing ftpbounce with stream
content never matched in our probes, while `ftpbounce` alone does), and dpictl raises it on
exactly the sessions the keyword-only probe flags.
"""

from __future__ import annotations

import json
import shutil
import subprocess
from collections import Counter

import pytest
from scapy.layers.inet import IP, TCP
from scapy.layers.l2 import Ether
from scapy.utils import wrpcap

from dpictl.engine import Engine
from dpictl.engine.detect.ftp_bounce import ftp_bounce
from dpictl.rules import parse_rules_text

CLIENT, SERVER = "10.9.0.1", "10.9.0.21"
PROBES = [
    'alert tcp any any -> any 21 (msg:"probe"; flow:to_server,established; ftpbounce; '
    'sid:9300001; rev:1;)',
    'alert tcp any any -> any 21 (msg:"probe any"; ftpbounce; sid:9300002; rev:1;)',
]
# client commands after USER/PASS, one session each; the comment is what Suricata says
SESSIONS = {
    41001: [b"PORT 10,9,0,1,4,1\r\n"],                          # own address: no alert
    41002: [b"PORT 192,168,5,5,4,1\r\n"],                       # third party: alert
    41003: [b"PORT 10 ,9 ,0 ,1,4,1\r\n"],                       # blanks before commas
    41004: [b"port 192,168,5,5,4,1\r\n"],                       # lower-case command
    41005: [b"PORT 10,9,0,256,4,1\r\n"],                        # 256 is read as an octet
    41006: [b"PORT 10,9,0,1,4,1\r\n", b"PORT 172,16,0,9,0,20\r\n"],
    41007: [b"PORT 172,16,0,9,0,20\r\nLIST\r\n"],               # more after it, same segment
    41008: [b"PORT 1000,9,0,1,4,1\r\n"],                        # not an address
    41009: [b"NOOP PORT 172,16,0,9,0,20\r\n"],                  # not the command
}


def _session(sport: int, commands: list[bytes]) -> list[bytes]:
    cseq, sseq = 1000, 9000
    c = IP(src=CLIENT, dst=SERVER)
    s = IP(src=SERVER, dst=CLIENT)
    frames = [Ether() / c / TCP(sport=sport, dport=21, flags="S", seq=cseq - 1),
              Ether() / s / TCP(sport=21, dport=sport, flags="SA", seq=sseq - 1, ack=cseq)]

    def seg(to_server: bool, data: bytes = b"", flags: str = "PA") -> None:
        nonlocal cseq, sseq
        if to_server:
            frames.append(Ether() / c / TCP(sport=sport, dport=21, flags=flags, seq=cseq,
                                            ack=sseq) / data)
            cseq += len(data)
        else:
            frames.append(Ether() / s / TCP(sport=21, dport=sport, flags=flags, seq=sseq,
                                            ack=cseq) / data)
            sseq += len(data)

    seg(True, flags="A")
    turns = [(False, b"220 ftp ready\r\n"), (True, b"USER anonymous\r\n"),
             (False, b"331 password\r\n"), (True, b"PASS x@y\r\n"), (False, b"230 in\r\n")]
    for command in commands:
        turns += [(True, command), (False, b"200 PORT command successful\r\n")]
    for to_server, data in turns:
        seg(to_server, data)
        seg(not to_server, flags="A")
    seg(True, flags="FA")
    cseq += 1
    seg(False, flags="FA")
    sseq += 1
    seg(True, flags="A")
    return [bytes(f) for f in frames]


@pytest.mark.parametrize("line, client, expected", [
    (b"PORT 10,9,0,1,4,1\r\n", "10.9.0.1", False),
    (b"PORT 10,9,0,2,4,1\r\n", "10.9.0.1", True),
    (b"Port 10,9,0,2,4,1\n", "10.9.0.1", True),
    (b"PORT 10,9,0,2,4,1", "10.9.0.1", False),        # not a complete command yet
    (b"PORT 1,2,3,4\r\n", "10.9.0.1", False),         # no comma after the fourth number
    (b"PORT 10,9,0,257,4,1\r\n", "10.9.0.1", False),
    (b"PORT 32,1,13,184,4,1\r\n", "2001:db8::1", False),  # an IPv6 client's first 32 bits
    (b"USER x\r\nPORT 8,8,8,8,0,21\r\n\r\n", "10.9.0.1", True),
    (b"PORT 8,8,8,8,0,21\r\nLIST\r\n", "10.9.0.1", False),  # the current command is LIST
])
def test_port_arguments(line: bytes, client: str, expected: bool) -> None:
    assert ftp_bounce(line, client) is expected


@pytest.mark.slow
@pytest.mark.skipif(shutil.which("suricata") is None, reason="suricata is not installed")
def test_ftpbounce_alerts_match_suricata(shared_dir, tmp_path):
    community = [line for line in (shared_dir / "rules" / "snort2-community-all-enabled.rules")
                 .read_text().splitlines() if "sid:3441;" in line]
    rules = "\n".join(community + PROBES) + "\n"
    frames = [f for sport, commands in SESSIONS.items() for f in _session(sport, commands)]
    pcap, rules_file, out = tmp_path / "ftp.pcap", tmp_path / "ftp.rules", tmp_path / "out"
    wrpcap(str(pcap), [Ether(f) for f in frames])
    rules_file.write_text(rules)
    out.mkdir()
    subprocess.run(["suricata", "-c", str(shared_dir / "oracle" / "suricata.yaml"),
                    "-S", str(rules_file), "-r", str(pcap), "-l", str(out), "-k", "none",
                    "--runmode", "single"], check=True, capture_output=True, timeout=120)
    theirs = Counter((e["alert"]["signature_id"], e["src_port"])
                     for e in map(json.loads, (out / "eve.json").read_text().splitlines())
                     if e.get("event_type") == "alert")
    engine = Engine(parse_rules_text(rules).rules)
    dets = []
    for i, frame in enumerate(frames):
        dets += engine.feed(1700000000.0 + i * 0.001, frame, 1)
    dets += engine.flush()
    ours = Counter((d.sid, d.src_port) for d in dets)
    flagged = {sport for sid, sport in theirs if sid == 9300001}
    assert flagged == {41002, 41004, 41005, 41006}         # the sessions exercise it
    assert {k for k in ours if k[0] != 3441} == set(theirs), (theirs, ours)
    assert {sport for sid, sport in ours if sid == 3441} == flagged
    assert not any(sid == 3441 for sid, _ in theirs)
