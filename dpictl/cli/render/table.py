"""The alerts table: one row per alert, the columns an operator scans first.

Two forms: `alerts_table()` for a finished list, and `StreamingAlertTable` for live capture,
which prints the header once and then each row as its alert arrives (a rich Table cannot
grow after it is printed, so every row is a one-row table with the same fixed widths).
`dpictl inspect` leaves out the columns a pcap cannot fill (DPI resource, endpoint).
"""

from __future__ import annotations

from datetime import datetime, timezone
from typing import Callable, Iterable, NamedTuple

from rich import box
from rich.console import Console
from rich.table import Table
from rich.text import Text

from dpictl.alerts.record import Alert
from dpictl.cli.render.theme import THEME, severity_style


class Column(NamedTuple):
    key: str
    header: str
    style: str
    min_width: int
    ratio: int                       # share of the space left over; 0 = fixed, never wraps


COLUMNS = (
    Column("time", "TIME", "alert.time", 20, 0),
    Column("origin", "DPI RESOURCE", "alert.origin", 12, 2),
    Column("endpoint", "ENDPOINT", "alert.endpoint", 14, 2),
    Column("source", "SOURCE", "alert.source", 21, 1),       # 255.255.255.255:65535
    Column("dest", "DESTINATION", "alert.dest", 21, 1),
    Column("sid", "SID", "alert.sid", 9, 0),
    Column("message", "MESSAGE", "", 20, 4),
)
ALL_KEYS = tuple(c.key for c in COLUMNS)


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


def _sid(alert: Alert) -> str:
    return f"{alert.gid}:{alert.sid}" if alert.gid != 1 else str(alert.sid)


_CELLS: dict[str, Callable[[Alert], str]] = {
    "time": lambda a: format_time(a.time),
    "origin": lambda a: a.origin or "-",
    "endpoint": _endpoint,
    "source": lambda a: _peer(a.source_name, a.source_namespace, a.source_ip, a.source_port,
                              a.proto),
    "dest": lambda a: _peer(a.dest_name, a.dest_namespace, a.dest_ip, a.dest_port, a.proto),
    "sid": _sid,
    "message": lambda a: a.signature,
}
_SEVERITY_COLOURED = frozenset({"sid", "message"})


def alert_cells(alert: Alert, keys: Iterable[str] = ALL_KEYS) -> list[Text]:
    """The row for one alert, as styled cells for the columns `keys`."""
    sev = severity_style(alert.priority)
    return [Text(_CELLS[k](alert), style=sev if k in _SEVERITY_COLOURED else "") for k in keys]


def _columns(keys: Iterable[str]) -> list[Column]:
    wanted = set(keys)
    return [c for c in COLUMNS if c.key in wanted]


def _new_table(columns: list[Column], show_header: bool,
               widths: list[int] | None = None) -> Table:
    """Auto-sized columns (a finished table), or fixed `widths` (streamed rows must line up
    with a header printed earlier, whatever their own content)."""
    table = Table(box=box.SIMPLE_HEAD, show_header=show_header, header_style="bold",
                  pad_edge=False, show_edge=False)
    for i, col in enumerate(columns):
        if widths:
            table.add_column(col.header, style=col.style, width=widths[i],
                             no_wrap=col.ratio == 0, overflow="fold")
        else:
            table.add_column(col.header, style=col.style, no_wrap=col.ratio == 0,
                             overflow="fold", min_width=col.min_width if col.ratio == 0 else None)
    return table


def stream_widths(total: int, columns: list[Column] | None = None) -> list[int]:
    """Fixed column widths that fit `total` console columns: the no-wrap columns get their
    minimum; the others their minimum plus a ratio share of what is left (or, on a console
    too narrow for the minimums, a share of what there is in proportion to them)."""
    cols = list(COLUMNS) if columns is None else columns
    gaps = 3 * (len(cols) - 1)             # padding either side plus SIMPLE_HEAD's divider
    fixed = sum(c.min_width for c in cols if c.ratio == 0)
    ratios = sum(c.ratio for c in cols) or 1
    spare = max(total - gaps - fixed, 0)
    mins = sum(c.min_width for c in cols if c.ratio) or 1
    if mins <= spare:
        extra = spare - mins
        return [c.min_width + (extra * c.ratio // ratios if c.ratio else 0) for c in cols]
    return [c.min_width if c.ratio == 0 else max(4, spare * c.min_width // mins) for c in cols]


def alerts_table(alerts: Iterable[Alert], keys: Iterable[str] = ALL_KEYS) -> Table:
    """A finished table of alerts."""
    keys = tuple(keys)
    table = _new_table(_columns(keys), show_header=True)
    for alert in alerts:
        table.add_row(*alert_cells(alert, [c.key for c in _columns(keys)]))
    return table


def render_alerts_table(console: Console, alerts: list[Alert],
                        keys: Iterable[str] = ALL_KEYS) -> None:
    """Print the table, or a one-line note when there is nothing to show."""
    if not alerts:
        console.print("No alerts.", style="dim")
        return
    with console.use_theme(THEME):
        console.print(alerts_table(alerts, keys))


class StreamingAlertTable:
    """Rows printed as alerts arrive, under one header, columns aligned across rows."""

    def __init__(self, console: Console, keys: Iterable[str] = ALL_KEYS) -> None:
        self.console = console
        self.rows = 0
        self.columns = _columns(keys)
        self.widths = stream_widths(console.width, self.columns)

    def add(self, alerts: Iterable[Alert]) -> None:
        keys = [c.key for c in self.columns]
        for alert in alerts:
            table = _new_table(self.columns, self.rows == 0, self.widths)
            table.add_row(*alert_cells(alert, keys))
            with self.console.use_theme(THEME):
                self.console.print(table)
            self.rows += 1


__all__ = ["alerts_table", "render_alerts_table", "StreamingAlertTable", "alert_cells",
           "format_time", "stream_widths", "COLUMNS", "ALL_KEYS", "Column"]
