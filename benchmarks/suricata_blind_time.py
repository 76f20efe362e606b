"""How long the Suricata data plane is blind when the selection changes (needs root).

Brings the red/blue lab up with `--engine suricata` and the Snort 3 community rules, sends
the lab's suspicious request red1 -> red2 every 0.3 s, adds a pod to namespace red (a new
interface: Suricata is replaced), and keeps sending until the new Suricata captures. Every
request should alert on both red interfaces; the longest run of requests without an alert
is the blind time an operator would see. Prints the agent's own figures too.

    PYTHONPATH=. python benchmarks/suricata_blind_time.py
"""

from __future__ import annotations

import json
import subprocess
import sys
import tempfile
import time
from pathlib import Path

SHARED = Path(__file__).resolve().parents[2] / "shared"
CURL = "curl -s -m 2 http://{ip}:80 -H 'User-Agent: Mozilla/4.0' -XPOST --data-raw 'smk=1234'"


def dpictl(db: Path, *args: str) -> subprocess.CompletedProcess:
    """`dpictl ARGS --db DB`, with --db before a `--` (exec's command follows it)."""
    args_l = list(args)
    at = args_l.index("--") if "--" in args_l else len(args_l)
    args_l[at:at] = ["--db", str(db)]
    return subprocess.run([sys.executable, "-m", "dpictl", *args_l],
                          capture_output=True, text=True, timeout=600)


def status(db: Path) -> dict:
    return json.loads((Path(f"{db}.agent") / "status.json").read_text())["suricata"]


def main() -> None:
    db = Path(tempfile.mkdtemp(prefix="dpictl-blind-")) / "lab.db"
    up = dpictl(db, "lab", "up", "--engine", "suricata", "--rules",
                str(SHARED / "rules" / "snort3-community.rules"))
    if up.returncode:
        sys.exit(up.stderr)
    try:
        pods = json.loads(dpictl(db, "get", "pods", "-n", "red", "-o", "json").stdout)
        ip = next(p["metadata"]["annotations"]["cni.projectcalico.org/podIP"].split("/")[0]
                  for p in pods["items"] if p["metadata"]["name"] == "red2")
        restarts = status(db)["restarts"]
        sent: list[float] = []
        changed_at = None
        end = None
        while end is None or time.time() < end:
            sent.append(time.time())
            dpictl(db, "exec", "-n", "red", "red1", "--", "sh", "-c", CURL.format(ip=ip))
            if changed_at is None and len(sent) == 10:
                changed_at = time.time()
                dpictl(db, "run", "-n", "red", "red3", "--image", "x", "--labels", "app=red3")
            if end is None and changed_at and status(db)["restarts"] > restarts:
                end = time.time() + 3
            time.sleep(0.3)
        time.sleep(3)
        alerts = json.loads(dpictl(db, "alerts", "list", "-o", "json", "--limit",
                                   "100000").stdout)
        times = sorted(a["time"] for a in alerts)       # whole seconds in Calico's record
        missing = [t for t in sent if sum(1 for a in times if t - 1 <= a <= t + 3) < 2]
        plane = status(db)
        print(f"requests {len(sent)}, alerts {len(alerts)} (2 per request expected), "
              f"requests with fewer than 2 alerts: {len(missing)}")
        print(f"agent: new interface inspected after {plane['last_restart_seconds']} s, "
              f"kept interfaces blind {plane['last_blind_seconds']} s, "
              f"restarts {plane['restarts']}")
    finally:
        dpictl(db, "lab", "down")


if __name__ == "__main__":
    main()
