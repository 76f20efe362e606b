"""A JSON array of Calico DPI event records (`-o json`), written raw to the console's file."""

from __future__ import annotations

import json
from typing import Iterable

from rich.console import Console

from dpictl.alerts.calico_event import to_calico
from dpictl.alerts.record import Alert


def write_calico_json(console: Console, alerts: Iterable[Alert]) -> None:
    records = [to_calico(a) for a in alerts]
    console.file.write(json.dumps(records, indent=2) + "\n")
    console.file.flush()


__all__ = ["write_calico_json"]
