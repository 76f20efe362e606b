"""Translation and parity figures for `--engine suricata` with the Snort 3 community rules.

Prints how many of the rules translate and load in Suricata, then recall/precision of
Suricata (running the translation) against the Snort 3 oracle on every shared pcap, with the
per-pcap differences. One Suricata per pcap, two at a time; about 5 s of rule loading each.

    PYTHONPATH=. python benchmarks/suricata_parity.py [pcap-name ...]
"""

from __future__ import annotations

import sys
import tempfile
import time
from pathlib import Path

ROOT = Path(__file__).resolve().parents[1]
sys.path.insert(0, str(ROOT / "tests" / "suricata"))

from suricata_parity import compare, translated_rules  # noqa: E402

SHARED = ROOT.parent / "shared"


def main() -> None:
    start = time.monotonic()
    rules = translated_rules(SHARED)
    untranslated = sum("no Suricata translation" in e.reason for e in rules.errors)
    rejected = sum("Suricata rejects" in e.reason for e in rules.errors)
    print(f"rules: {rules.total} total, {rules.total - untranslated} translated, "
          f"{rules.loaded} load in Suricata ({100 * rules.loaded / rules.total:.2f}%), "
          f"{untranslated} untranslatable, {rejected} rejected by Suricata")
    for e in rules.errors:
        print(f"  {e}")
    with tempfile.TemporaryDirectory() as tmp:
        path = rules.write(Path(tmp) / "snort3-as-suricata.rules")
        result = compare(SHARED, path, sys.argv[1:] or None)
    print(result.summary().replace("suricata {", "snort3 {").replace("dpictl {", "suricata {"))
    print(f"wall {time.monotonic() - start:.1f} s")


if __name__ == "__main__":
    main()
