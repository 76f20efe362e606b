"""The agent's hook: `run_agent(..., **suricata_plane(dir, netns))` runs on Suricata.

Kept to one function so the agent package needs one conditional import, and the Suricata
plane's wiring lives here rather than in the agent files other work changes.
"""

from __future__ import annotations

from pathlib import Path
from typing import Any

from dpictl.suricata.binary import find_suricata
from dpictl.suricata.plane import SuricataPlane


def suricata_plane(work_dir: Path, netns: str | None,
                   variables: dict[str, str] | None = None) -> dict[str, Any]:
    """`capture_factory`, `engine_factory` and `plane` for run_agent, sharing one
    SuricataPlane (it is the capture, the rule loader and the agent's external plane).

    Raises SuricataMissing/InputError (Suricata absent or older than 7) before anything runs.
    """
    plane = SuricataPlane(find_suricata(), work_dir, netns=netns, variables=variables)
    # one Suricata runs its own workers (cluster_flow): the agent's WorkerPool stays out
    return {"capture_factory": plane, "engine_factory": plane.load_rules, "workers": 1,
            "plane": plane}


__all__ = ["suricata_plane"]
