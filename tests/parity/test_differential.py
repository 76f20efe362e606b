"""Differential test of content-keyword semantics against a local Suricata 7.

Random rules (content with nocase/offset/depth/distance/within and negation, isdataat,
byte_test, byte_jump, pcre with R/i) over random UDP payloads from a 3-letter alphabet, so
that partial matches, backtracking and window edges are exercised. Suricata and dpictl
run the same rules on the same pcap; every (sid, packet) alert must agree. Skipped when
`suricata` is not installed. This is how the retry binding, byte_jump bounds, the
isdataat:!1 folding and the negated-content limit propagation were found.
"""

from __future__ import annotations

import json
import random
import shutil
import subprocess
from pathlib import Path

import pytest
from scapy.layers.inet import IP, UDP
from scapy.layers.l2 import Ether
from scapy.utils import wrpcap

from dpictl.capture import open_pcap
from dpictl.engine import Engine
from dpictl.rules import load_rules

pytestmark = pytest.mark.skipif(shutil.which("suricata") is None,
                                reason="suricata is not installed")
ALPHA = "abc"


class _Gen:
    def __init__(self, seed: int) -> None:
        self.rnd = random.Random(seed)

    def word(self, n: int | None = None) -> str:
        return "".join(self.rnd.choice(ALPHA) for _ in range(n or self.rnd.randint(1, 3)))

    def content(self, first: bool) -> list[str]:
        r, w = self.rnd, self.word()
        opts = [f'content:{"!" if not first and r.random() < 0.15 else ""}"{w}"']
        if r.random() < 0.2:
            opts.append("nocase")
        if first or r.random() < 0.3:
            if r.random() < 0.5:
                opts.append(f"offset:{r.randint(0, 6)}")
            if r.random() < 0.5:
                opts.append(f"depth:{r.randint(len(w), len(w) + 8)}")
        else:
            if r.random() < 0.7:
                opts.append(f"distance:{r.randint(-2, 4)}")
            if r.random() < 0.6:
                opts.append(f"within:{r.randint(len(w), len(w) + 5)}")
        return opts

    def option(self, first: bool) -> list[str]:
        r = self.rnd
        x = r.random()
        rel = ",relative" if r.random() < 0.5 else ""
        if x < 0.6 or first:
            return self.content(first)
        if x < 0.72:
            neg = "!" if r.random() < 0.3 else ""
            return [f"isdataat:{neg}{r.randint(0, 8)}{rel}"]
        if x < 0.84:
            op = r.choice(["<", ">", "=", "&", "!="])
            return [f"byte_test:1,{op},{r.randint(96, 100)},{r.randint(-1, 3)}{rel}"]
        if x < 0.92:
            flags = ("R" if r.random() < 0.5 else "") + ("i" if r.random() < 0.2 else "")
            return [f'pcre:"/{self.word()}[{ALPHA}]?{self.word(1)}/{flags}"']
        return [f"byte_jump:1,{r.randint(0, 2)}{rel},post_offset {r.randint(-100, -95)}"]

    def rules(self, n: int) -> str:
        lines = []
        for sid in range(1, n + 1):
            opts: list[str] = []
            for i in range(self.rnd.randint(1, 4)):
                opts += self.option(i == 0)
            lines.append(f'alert udp any any -> any any (msg:"f{sid}"; {"; ".join(opts)}; '
                         f'sid:{sid}; rev:1;)')
        return "\n".join(lines) + "\n"

    def packets(self, n: int) -> list:
        out = []
        for i in range(n):
            payload = self.word(self.rnd.randint(3, 20)).encode()
            pkt = (Ether() / IP(src="10.7.0.1", dst="10.7.0.2") /
                   UDP(sport=10000 + i, dport=9999) / payload)
            pkt.time = 1700000000 + i
            out.append(pkt)
        return out


def _suricata(shared: Path, rules: Path, pcap: Path, out: Path) -> set[tuple[int, int]]:
    config = out / "suricata.yaml"
    text = (shared / "oracle" / "suricata.yaml").read_text()
    text = text.replace("default-log-dir: .", "default-log-dir: .\npacket-alert-max: 255")
    text = text.replace(" shared/rules/", f" {shared}/rules/")
    config.write_text(text)
    subprocess.run(["suricata", "-c", str(config), "-S", str(rules), "-r", str(pcap), "-l",
                    str(out), "-k", "none", "--runmode", "single"], capture_output=True,
                   timeout=300, check=False)
    alerts = set()
    for line in (out / "eve.json").read_text().splitlines():
        event = json.loads(line)
        if event.get("event_type") == "alert":
            alerts.add((event["alert"]["signature_id"], event["src_port"]))
    return alerts


@pytest.mark.parametrize("seed", [1, 4, 19])
def test_content_keywords_agree_with_suricata(seed, tmp_path, shared_dir):
    gen = _Gen(seed)
    rules, pcap = tmp_path / "fuzz.rules", tmp_path / "fuzz.pcap"
    rules.write_text(gen.rules(300))
    wrpcap(str(pcap), gen.packets(200))
    expected = _suricata(shared_dir, rules, pcap, tmp_path)
    engine = Engine(load_rules([rules]).rules)
    got = set()
    with open_pcap(pcap) as frames:
        for ts, frame, linktype, iface in frames:
            got |= {(d.sid, d.src_port) for d in engine.feed(ts, frame, linktype, iface)}
    assert len(expected) > 1000                     # the generator produces real matches
    assert got == expected, (sorted(expected - got)[:10], sorted(got - expected)[:10])
