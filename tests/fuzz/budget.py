"""How many examples each fuzz test runs: its CI budget times DPICTL_FUZZ_SCALE (default 1).

`DPICTL_FUZZ_SCALE=20 DPICTL_FUZZ_PROFILE=explore pytest tests/fuzz` fuzzes for real (fresh
random inputs, twenty times as many); CI keeps the derandomized one-minute budget.
"""

from __future__ import annotations

import os

SCALE = max(1, int(os.environ.get("DPICTL_FUZZ_SCALE", "1") or 1))


def examples(ci_budget: int) -> int:
    return ci_budget * SCALE
