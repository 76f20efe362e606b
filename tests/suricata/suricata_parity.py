"""Suricata running dpictl's translation of the Snort 3 rules, compared with the Snort 3 oracle.

Shared by the parity test (a subset of pcaps) and benchmarks/suricata_parity.py (all of
them). Keys and scoring are the project's (tests/parity/parity_compare.py): unique
(sid, proto, endpoint pair); one Suricata process per pcap, as the oracle ran one Snort per
pcap (rate-based rules keep per-host state).
"""

from __future__ import annotations

import json
import sys
import tempfile
from concurrent.futures import ThreadPoolExecutor
from pathlib import Path

sys.path.insert(0, str(Path(__file__).resolve().parents[1] / "parity"))

from parity_compare import Comparison, Key, alert_key  # noqa: E402

from dpictl.rules import load_rules  # noqa: E402
from dpictl.suricata.config import SuricataSettings  # noqa: E402
from dpictl.suricata.process import run_pcap  # noqa: E402
from dpictl.suricata.rulefile import SuricataRules, check_with_suricata, translate_ruleset  # noqa: E402,E501


def translated_rules(shared: Path, binary: str = "suricata") -> SuricataRules:
    ruleset = load_rules([shared / "rules" / "snort3-community.rules"])
    return check_with_suricata(translate_ruleset(ruleset), binary, {})


def oracle_keys(oracle_file: Path) -> list[Key]:
    data = json.loads(oracle_file.read_text())
    return [alert_key(a["sid"], a["proto"], (a["src_ip"], a["src_port"]),
                      (a["dest_ip"], a["dest_port"])) for a in data["alerts"]]


def eve_keys(eve: Path) -> list[Key]:
    out = []
    for line in eve.read_text().splitlines():
        event = json.loads(line)
        if event.get("event_type") != "alert":
            continue
        out.append(alert_key(event["alert"]["signature_id"], event["proto"],
                             (event["src_ip"], event.get("src_port")),
                             (event["dest_ip"], event.get("dest_port"))))
    return out


def suricata_keys(rules_file: Path, pcap: Path, binary: str = "suricata") -> list[Key]:
    with tempfile.TemporaryDirectory(prefix="dpictl-suricata-parity-") as tmp:
        settings = SuricataSettings(log_dir=Path(tmp), rule_files=[rules_file])
        return eve_keys(run_pcap(binary, settings, pcap))


def compare(shared: Path, rules_file: Path, names: list[str] | None = None,
            jobs: int = 2) -> Comparison:
    oracle_dir = shared / "oracle" / "expected-snort3"
    pcaps = [p for p in sorted((shared / "pcaps").glob("*.pcap*"))
             if (oracle_dir / f"{p.name}.json").exists()
             and (names is None or p.name in names)]
    with ThreadPoolExecutor(jobs) as pool:
        results = list(pool.map(lambda p: suricata_keys(rules_file, p), pcaps))
    cmp = Comparison()
    for pcap, got in zip(pcaps, results):
        cmp.add(pcap.name, oracle_keys(oracle_dir / f"{pcap.name}.json"), got)
    return cmp
