"""Live inspection: capture rings feeding engines, in one process or several, with honest
accounting of every packet the kernel had for us (read, dropped, or discarded)."""

from __future__ import annotations

from dpictl.live.session import LiveInspection, LiveOptions
from dpictl.live.stats import LiveStats, WorkerStats

__all__ = ["LiveInspection", "LiveOptions", "LiveStats", "WorkerStats"]
