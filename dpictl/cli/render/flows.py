"""The flow logs table: one row per record, who talked to whom and how much."""

from __future__ import annotations

import json
from typing import Iterable

from rich import box
from rich.console import Console
from rich.table import Table

from dpictl.cli.render.table import format_time
from dpictl.flowlogs.record import FlowLog


def _who(name: str, namespace: str, ip: str) -> str:
    if namespace and namespace != "-":
        return f"{namespace}/{name}"
    return f"{name} {ip}" if name in ("pvt", "pub") else (name or ip)


def _size(n: int) -> str:
    for unit in ("B", "KiB", "MiB", "GiB"):
        if n < 1024 or unit == "GiB":
            return f"{n:.0f} {unit}" if unit == "B" else f"{n:.1f} {unit}"
        n /= 1024
    return str(n)  # pragma: no cover


def render_flows_table(console: Console, records: list[FlowLog]) -> None:
    if not records:
        console.print("No flow logs.")
        return
    table = Table(box=box.SIMPLE_HEAD, pad_edge=False)
    for header, justify in (("END", "left"), ("REPORTER", "left"), ("SOURCE", "left"),
                            ("DESTINATION", "left"), ("PORT", "right"), ("PROTO", "left"),
                            ("FLOWS", "right"), ("PKTS OUT/IN", "right"),
                            ("BYTES OUT/IN", "right")):
        table.add_column(header, justify=justify, no_wrap=header not in ("SOURCE",
                                                                        "DESTINATION"))
    for r in records:
        table.add_row(format_time(r.end_time), r.reporter,
                      _who(r.source_name, r.source_namespace, r.source_ip),
                      _who(r.dest_name, r.dest_namespace, r.dest_ip), str(r.dest_port),
                      r.proto, str(r.num_flows), f"{r.packets_out}/{r.packets_in}",
                      f"{_size(r.bytes_out)}/{_size(r.bytes_in)}")
    console.print(table)


def write_flows_json(console: Console, records: Iterable[FlowLog]) -> None:
    console.file.write(json.dumps([r.to_dict() for r in records], indent=2) + "\n")
    console.file.flush()


__all__ = ["render_flows_table", "write_flows_json"]
