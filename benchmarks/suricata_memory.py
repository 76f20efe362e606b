"""Memory of the Suricata data plane for N inspected interfaces on one node (needs root).

Makes N veth pairs (suriplane-mK / suriplane-nK), translates the Snort 3 community rules, starts
one Suricata the way the agent does (AF_PACKET on every interface, workers, cluster_flow)
and prints its resident memory once it captures, plus the rule load time. Calico's way,
one Snort per endpoint, needs N processes of ~100 MB.

    PYTHONPATH=. python benchmarks/suricata_memory.py [N]      (default 50)
"""

from __future__ import annotations

import subprocess
import sys
import tempfile
import time
from pathlib import Path

from dpictl.rules import load_rules
from dpictl.suricata.binary import find_suricata
from dpictl.suricata.config import SuricataSettings
from dpictl.suricata.process import SuricataProcess
from dpictl.suricata.rulefile import check_with_suricata, translate_ruleset

SHARED = Path(__file__).resolve().parents[2] / "shared"


def rss_kb(pid: int) -> int:
    for line in Path(f"/proc/{pid}/status").read_text().splitlines():
        if line.startswith("VmRSS:"):
            return int(line.split()[1])
    return 0


def main() -> None:
    n = int(sys.argv[1]) if len(sys.argv) > 1 else 50
    names = [f"suriplane-m{i}" for i in range(n)]
    for i, name in enumerate(names):
        subprocess.run(["ip", "link", "add", name, "type", "veth", "peer", "name",
                        f"suriplane-n{i}"], check=True)
        subprocess.run(["ip", "link", "set", name, "up"], check=True)
        subprocess.run(["ip", "link", "set", f"suriplane-n{i}", "up"], check=True)
    proc = None
    try:
        binary = find_suricata()
        rules = check_with_suricata(translate_ruleset(load_rules(
            [SHARED / "rules" / "snort3-community.rules"])), binary.path, {})
        with tempfile.TemporaryDirectory() as tmp:
            work = Path(tmp)
            path = rules.write(work / "dpictl.rules")
            proc = SuricataProcess(binary.path, SuricataSettings(
                log_dir=work, rule_files=[path], interfaces=names))
            started = time.monotonic()
            proc.start()
            log = work / "suricata.log"
            while "Engine started" not in (log.read_text() if log.exists() else ""):
                if proc.poll() is not None:
                    sys.exit(f"Suricata failed: {proc.last_error()}")
                time.sleep(0.2)
            ready = time.monotonic() - started
            time.sleep(3)
            print(f"{n} interfaces, {rules.loaded} rules: Suricata RSS "
                  f"{rss_kb(proc.pid) / 1024:.0f} MB, capturing after {ready:.1f} s")
            proc.stop()
    finally:
        if proc is not None:
            proc.stop()
        for name in names:
            subprocess.run(["ip", "link", "del", name], capture_output=True)


if __name__ == "__main__":
    main()
