"""What storing alerts costs per alert, by how many go into one transaction.

The live Suricata plane reads EVE from a FIFO that Suricata blocks on when it is full, so
the reader's cost per alert is packet loss under load. This prints the SQLite store's cost
with one commit per alert (how `inspect --engine suricata -i` stored them before) and with
the batches a read of the FIFO gives.

    .venv/bin/python benchmarks/bench_alert_store.py [--alerts 5000]
"""

from __future__ import annotations

import argparse
import sys
import tempfile
import time
from pathlib import Path

ROOT = Path(__file__).resolve().parents[1]
sys.path.insert(0, str(ROOT / "tests"))

from alerts.factories import make_alert  # noqa: E402  (test factory: realistic records)

from dpictl.alerts.store import AlertStore  # noqa: E402


def main() -> None:
    ap = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    ap.add_argument("--alerts", type=int, default=5000)
    args = ap.parse_args()
    alerts = [make_alert(sid=1000 + i % 50) for i in range(args.alerts)]
    for size in (1, 64, 1024):
        with tempfile.TemporaryDirectory() as tmp:
            store = AlertStore(Path(tmp) / "alerts.db")
            wall, cpu = time.perf_counter(), time.process_time()
            for i in range(0, len(alerts), size):
                store.add(alerts[i:i + size])
            wall, cpu = time.perf_counter() - wall, time.process_time() - cpu
            store.close()
        print(f"{size:5d} alert(s) per commit: {wall / len(alerts) * 1e6:6.1f} us wall, "
              f"{cpu / len(alerts) * 1e6:6.1f} us CPU per alert")


if __name__ == "__main__":
    main()
