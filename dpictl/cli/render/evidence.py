"""`alerts show`: an alert, its rule with the matched contents highlighted, and its packet
as Wireshark's layer tree (or a hex dump when tshark is missing)."""

from __future__ import annotations

from rich.console import Console, Group, RenderableType
from rich.panel import Panel
from rich.table import Table
from rich.text import Text
from rich.tree import Tree

from dpictl.alerts.record import Alert
from dpictl.investigate.dissect import Layer


def alert_panel(alert: Alert) -> Panel:
    grid = Table.grid(padding=(0, 2))
    grid.add_column(style="bold")
    grid.add_column()
    ep = alert.endpoint
    rows = [
        ("ID", str(alert.id)), ("time", alert.timestamp),
        ("signature", f"[{alert.gid}:{alert.sid}:{alert.rev}] {alert.signature}"),
        ("category", f"{alert.category} (priority {alert.priority})"),
        ("source", f"{alert.source_ip}:{alert.source_port} {_pod(alert.source_namespace, alert.source_name)}"),
        ("destination", f"{alert.dest_ip}:{alert.dest_port} {_pod(alert.dest_namespace, alert.dest_name)}"),
        ("protocol", alert.proto + (f" / {alert.app_proto}" if alert.app_proto else "")),
        ("origin", alert.origin or "-"),
    ]
    if ep is not None:
        rows.append(("endpoint", f"{ep.namespace}/{ep.name} on {ep.interface} ({ep.role})"))
    if alert.host:
        rows.append(("node", alert.host))
    rows.append(("evidence", _evidence(alert)))
    for key, value in rows:
        grid.add_row(key, Text(value))
    return Panel(grid, title=f"alert {alert.id}", title_align="left")


def _evidence(alert: Alert) -> str:
    """What `alerts export --pcap` will write for this alert."""
    kept = len(alert.context)
    before = f"{kept} packet{'s' if kept != 1 else ''} of its flow before it"
    if not alert.packet:
        return f"no triggering packet; {before}"
    return f"the triggering packet ({len(alert.packet)} bytes) and {before}"


def _pod(namespace: str, name: str) -> str:
    return f"({namespace}/{name})" if name else ""


def rule_text(text: str, spans: list[tuple[int, int]]) -> Panel:
    rendered = Text(text)
    for start, end in spans:
        rendered.stylize("bold black on yellow", start, end)
    return Panel(rendered, title="rule (matched contents highlighted)", title_align="left")


def layer_tree(layers: list[Layer]) -> Tree:
    tree = Tree(Text("packet (Wireshark dissection)", style="bold"))
    for layer in layers:
        branch = tree.add(Text(layer.name, style="bold cyan"))
        for field in layer.fields:
            branch.add(Text(field.showname))
    return tree


def hex_dump(data: bytes, width: int = 16) -> Text:
    out = Text()
    for offset in range(0, len(data), width):
        chunk = data[offset:offset + width]
        hexes = " ".join(f"{b:02x}" for b in chunk)
        text = "".join(chr(b) if 32 <= b < 127 else "." for b in chunk)
        out.append(f"{offset:04x}  {hexes:<{width * 3}} {text}\n")
    return out


def show_alert(console: Console, alert: Alert, spans: list[tuple[int, int]],
               layers: list[Layer] | None, missing: str | None) -> None:
    parts: list[RenderableType] = [alert_panel(alert), rule_text(alert.rule_text, spans)]
    if not alert.packet:
        parts.append(Text("no packet was kept with this alert", style="yellow"))
    elif layers is not None:
        parts.append(layer_tree(layers))
    else:
        parts.append(Text(f"{missing}: showing the packet as hex", style="yellow"))
        parts.append(hex_dump(alert.packet))
    console.print(Group(*parts))


__all__ = ["show_alert", "layer_tree", "hex_dump", "rule_text", "alert_panel"]
