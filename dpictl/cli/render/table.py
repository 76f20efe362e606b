"""The alerts table: one row per alert, the columns an operator scans first.

Two forms: `alerts_table()` for a finished list, and `StreamingAlertTable` for live capture,
which prints the header once and then each row as its alert arrives (a rich Table cannot
grow after it is printed, so every row is a one-row table with the same fixed widths).
"""

from __future__ import annotations

from datetime import datetime, timezone
from typing import Iterable

from rich import box
from rich.console import Console
from rich.table import Table
from rich.text import Text

from dpictl.alerts.record import Alert
from dpictl.cli.render.theme import severity_style

# (header, style, min width, ratio for the space left over)
COLUMNS = (
    ("TIME", "alert.time", 20, 0),
    ("DPI RESOURCE", "alert.origin", 12, 2),
    ("ENDPOINT", "alert.endpoint", 12, 2),
    ("SOURCE", "alert.source", 15, 2),
    ("DESTINATION", "alert.dest", 15, 2),
    ("SID", "alert.sid", 7, 0),
    ("MESSAGE", "", 20, 4),
)


def format_time(ts: float) -> str:
    return datetime.fromtimestamp(ts, tz=timezone.utc).strftime("%Y-%m-%dT%H:%M:%SZ")


def _peer(name: str, namespace: str, ip: str, port: int, proto: str) -> str:
    if name:
        return f"{namespace}/{name}" if namespace else name
    if proto.upper() in ("ICMP", "IPV6-ICMP") or not port:
        return ip
    return f"[{ip}]:{port}" if ":" in ip else f"{ip}:{port}"


def _endpoint(alert: Alert) -> str:
    ep = alert.endpoint
    if ep is None:
        return alert.extra.get("in_iface", "") or "-"
    who = f"{ep.namespace}/{ep.name}" if ep.namespace else ep.name
    return f"{who} ({ep.interface})" if ep.interface else who


def alert_cells(alert: Alert) -> list[Text]:
    """The row for one alert, as styled cells in COLUMNS order."""
    sev = severity_style(alert.priority)
    return [
        Text(format_time(alert.time)),
        Text(alert.origin or "-"),
        Text(_endpoint(alert)),
        Text(_peer(alert.source_name, alert.source_namespace, alert.source_ip,
                   alert.source_port, alert.proto)),
        Text(_peer(alert.dest_name, alert.dest_namespace, alert.dest_ip, alert.dest_port,
                   alert.proto)),
        Text(f"{alert.gid}:{alert.sid}" if alert.gid != 1 else str(alert.sid), style=sev),
        Text(alert.signature, style=sev),
    ]


def _new_table(show_header: bool) -> Table:
    table = Table(box=box.SIMPLE_HEAD if show_header else None, show_header=show_header,
                  header_style="bold", pad_edge=False, expand=True, show_edge=False)
    for header, style, min_width, ratio in COLUMNS:
        table.add_column(header, style=style, min_width=min_width, ratio=ratio or None,
                         no_wrap=(ratio == 0), overflow="fold")
    return table


def alerts_table(alerts: Iterable[Alert]) -> Table:
    """A finished table of alerts."""
    table = _new_table(show_header=True)
    for alert in alerts:
        table.add_row(*alert_cells(alert))
    return table


def render_alerts_table(console: Console, alerts: list[Alert]) -> None:
    """Print the table, or a one-line note when there is nothing to show."""
    if not alerts:
        console.print("No alerts.", style="dim")
        return
    console.print(alerts_table(alerts))


class StreamingAlertTable:
    """Rows printed as alerts arrive, under one header, columns aligned across rows."""

    def __init__(self, console: Console) -> None:
        self.console = console
        self.rows = 0

    def add(self, alerts: Iterable[Alert]) -> None:
        for alert in alerts:
            table = _new_table(show_header=self.rows == 0)
            table.add_row(*alert_cells(alert))
            self.console.print(table)
            self.rows += 1


__all__ = ["alerts_table", "render_alerts_table", "StreamingAlertTable", "alert_cells",
           "format_time", "COLUMNS"]
