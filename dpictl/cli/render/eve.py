"""EVE JSON lines, one per alert, written straight to the console's file (no rich wrapping or
highlighting may touch machine-readable output)."""

from __future__ import annotations

import json
from typing import Iterable

from rich.console import Console

from dpictl.alerts.eve import eve_line
from dpictl.alerts.record import Alert


def write_eve_event(console: Console, event: dict) -> None:
    """Any other EVE event (`stats`), as one compact line."""
    out = console.file
    out.write(json.dumps(event, separators=(",", ":")) + "\n")
    out.flush()


def write_eve(console: Console, alerts: Iterable[Alert], packet: bool = False) -> None:
    out = console.file
    for alert in alerts:
        out.write(eve_line(alert, packet) + "\n")
    out.flush()


__all__ = ["write_eve", "write_eve_event"]
