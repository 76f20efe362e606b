"""Differential test of rule-header address and port lists against a local Suricata 7.

Random nested lists (negated atoms, negated blocks, blocks inside negated blocks, `any`,
IPv4 and IPv6, variables that hold negations, and negated variables) are put in rule
headers; Suricata and dpictl run them on UDP packets from a spread of source addresses and
ports. Every (sid, packet) alert must agree, and so must the set of rules each engine
refuses (a list that negates everything or leaves nothing). This is how the per-family
address merge and the push-down port negation of Suricata were pinned down.
"""

from __future__ import annotations

import ipaddress
import json
import random
import re
import shutil
import subprocess
from pathlib import Path

import pytest
from scapy.layers.inet import IP, UDP
from scapy.layers.inet6 import IPv6
from scapy.layers.l2 import Ether
from scapy.utils import wrpcap

from dpictl.capture import open_pcap
from dpictl.engine import Engine
from dpictl.rules import load_rules

pytestmark = pytest.mark.skipif(shutil.which("suricata") is None,
                                reason="suricata is not installed")

ADDRESS_ATOMS = ["1.1.1.0/24", "1.1.1.1", "1.1.0.0/16", "10.0.0.0/8", "10.1.0.0/16",
                 "10.1.1.0/24", "2001:db8::/32", "2001:db8::1", "any", "$NETS", "$NOTNETS"]
SOURCES = ["1.1.1.1", "1.1.1.2", "1.1.2.1", "10.1.1.5", "10.1.2.5", "10.2.0.1",
           "192.168.1.1", "2001:db8::1", "2001:db8::2", "2001:db9::1"]
PORT_ATOMS = ["80", "81", "80:90", "1024:", ":100", "85", "443", "any", "$WEB", "$NOTWEB"]
PORTS = [21, 80, 81, 85, 95, 443, 1023, 1024, 8080]
ADDRESS_VARS = {"NETS": "[10.0.0.0/8,!10.1.0.0/16]", "NOTNETS": "!1.1.0.0/16"}
PORT_VARS = {"WEB": "[80,443,!81]", "NOTWEB": "!85"}
VARS = {**ADDRESS_VARS, **PORT_VARS}


def _spec(rnd: random.Random, atoms: list[str], depth: int = 0) -> str:
    """One list item: an atom or a block, negated or not."""
    bang = "!" if rnd.random() < 0.4 else ""
    if depth < 2 and rnd.random() < 0.45:
        items = [_spec(rnd, atoms, depth + 1) for _ in range(rnd.randint(1, 3))]
        return f"{bang}[{','.join(items)}]"
    return bang + rnd.choice(atoms)


def _rules(seed: int) -> tuple[str, int]:
    rnd = random.Random(seed)
    lines = []
    for sid in range(1, 121):
        lines.append(f'alert udp {_spec(rnd, ADDRESS_ATOMS)} 5000 -> any any '
                     f'(msg:"a"; sid:{sid};)')
    for sid in range(1001, 1121):
        lines.append(f'alert udp 9.9.9.9 {_spec(rnd, PORT_ATOMS)} -> any any '
                     f'(msg:"p"; sid:{sid};)')
    return "\n".join(lines) + "\n", len(lines)


def _packets() -> list:
    out = []
    for src in SOURCES:
        ip = IPv6(src=src, dst="2001:db8::ff") if ":" in src else IP(src=src, dst="9.9.9.8")
        out.append(Ether() / ip / UDP(sport=5000, dport=53) / b"x")
    out += [Ether() / IP(src="9.9.9.9", dst="9.9.9.8") / UDP(sport=p, dport=53) / b"x"
            for p in PORTS]
    for i, pkt in enumerate(out):
        pkt.time = 1700000000 + i
    return out


def _suricata(shared: Path, rules: Path, pcap: Path, out: Path) -> tuple[set, set[int]]:
    text = (shared / "oracle" / "suricata.yaml").read_text()
    text = text.replace(" shared/rules/", f" {shared}/rules/")
    text = text.replace("default-log-dir: .", "default-log-dir: .\npacket-alert-max: 255")
    groups = "".join(f'    {k}: "{v}"\n' for k, v in ADDRESS_VARS.items())
    ports = "".join(f'    {k}: "{v}"\n' for k, v in PORT_VARS.items())
    text = text.replace("  address-groups:\n", "  address-groups:\n" + groups)
    text = text.replace("  port-groups:\n", "  port-groups:\n" + ports)
    (out / "suricata.yaml").write_text(text)
    run = subprocess.run(["suricata", "-c", str(out / "suricata.yaml"), "-S", str(rules),
                          "-r", str(pcap), "-l", str(out), "-k", "none", "--runmode",
                          "single"], capture_output=True, text=True, timeout=300, check=False)
    rejected = {int(m.group(1)) for m in re.finditer(
        r"error parsing signature .*?sid:(\d+)", run.stdout + run.stderr)}
    alerts = set()
    for line in (out / "eve.json").read_text().splitlines():
        event = json.loads(line)
        if event.get("event_type") == "alert":
            alerts.add((event["alert"]["signature_id"],
                        str(ipaddress.ip_address(event["src_ip"])), event["src_port"]))
    return alerts, rejected


@pytest.mark.parametrize("seed", [3, 8, 11])
def test_header_lists_agree_with_suricata(seed, tmp_path, shared_dir):
    text, count = _rules(seed)
    rules, pcap = tmp_path / "lists.rules", tmp_path / "lists.pcap"
    rules.write_text(text)
    wrpcap(str(pcap), _packets())
    expected, suricata_rejected = _suricata(shared_dir, rules, pcap, tmp_path)
    ruleset = load_rules([rules], VARS)
    engine = Engine(ruleset.rules)
    got = set()
    with open_pcap(pcap) as frames:
        for ts, frame, linktype, iface in frames:
            got |= {(d.sid, d.src_ip, d.src_port)
                    for d in engine.feed(ts, frame, linktype, iface)}
    assert {e.sid for e in ruleset.errors} == suricata_rejected
    assert len(expected) > 200 and 0 < len(suricata_rejected) < count // 3
    assert got == expected, (sorted(expected - got)[:10], sorted(got - expected)[:10])
