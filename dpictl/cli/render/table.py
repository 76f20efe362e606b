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
from dpictl.cli.render.theme import THEME, severity_style

# (header, style, min width, ratio for the space left over)
COLUMNS = (
    ("TIME", "alert.time", 20, 0),
    ("DPI RESOURCE", "alert.origin", 12, 2),
    ("ENDPOINT", "alert.endpoint", 14, 2),
    ("SOURCE", "alert.source", 21, 1),       # 255.255.255.255:65535
    ("DESTINATION", "alert.dest", 21, 1),
    ("SID", "alert.sid", 9, 0),
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


def _new_table(show_header: bool, widths: list[int] | None = None) -> Table:
    """Auto-sized columns (a finished table), or fixed `widths` (streamed rows must line up
    with a header printed earlier, whatever their own content)."""
    table = Table(box=box.SIMPLE_HEAD, show_header=show_header,
                  header_style="bold", pad_edge=False, show_edge=False)
    for i, (header, style, min_width, ratio) in enumerate(COLUMNS):
        if widths:
            table.add_column(header, style=style, width=widths[i], no_wrap=(ratio == 0),
                             overflow="fold")
        else:
            table.add_column(header, style=style, no_wrap=(ratio == 0),
                             overflow="fold", min_width=min_width if ratio == 0 else None)
    return table


def stream_widths(total: int) -> list[int]:
    """Fixed column widths that fit `total` console columns: the no-wrap columns get their
    minimum; the others their minimum plus a ratio share of what is left (or, on a console
    too narrow for the minimums, a share of what there is in proportion to them)."""
    gaps = 3 * (len(COLUMNS) - 1)          # padding either side plus SIMPLE_HEAD's divider
    fixed = sum(m for _, _, m, r in COLUMNS if r == 0)
    ratios = sum(r for *_, r in COLUMNS)
    spare = max(total - gaps - fixed, 0)
    mins = sum(m for _, _, m, r in COLUMNS if r)
    if mins <= spare:
        extra = spare - mins
        return [m + (extra * r // ratios if r else 0) for _, _, m, r in COLUMNS]
    return [m if r == 0 else max(4, spare * m // mins) for _, _, m, r in COLUMNS]


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
    with console.use_theme(THEME):
        console.print(alerts_table(alerts))


class StreamingAlertTable:
    """Rows printed as alerts arrive, under one header, columns aligned across rows."""

    def __init__(self, console: Console) -> None:
        self.console = console
        self.rows = 0
        self.widths = stream_widths(console.width)

    def add(self, alerts: Iterable[Alert]) -> None:
        for alert in alerts:
            table = _new_table(self.rows == 0, self.widths)
            table.add_row(*alert_cells(alert))
            with self.console.use_theme(THEME):
                self.console.print(table)
            self.rows += 1


__all__ = ["alerts_table", "render_alerts_table", "StreamingAlertTable", "alert_cells",
           "format_time", "COLUMNS"]
