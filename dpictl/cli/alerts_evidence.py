"""`dpictl alerts show ID` and `dpictl alerts export --pcap FILE`: the evidence behind alerts.

Thin: the store gives the alerts, `dpictl.investigate` dissects (pyshark) and writes pcapng
(dpkt), the renderers show. Registered on the `alerts` group by `cli/alerts.py`.
"""

from __future__ import annotations

import base64
import json
from pathlib import Path
from typing import Optional

import typer

from dpictl.cli import params
from dpictl.errors import InputError, NotFound, UsageError


def show_cmd(
    alert_id: int = typer.Argument(..., min=1, max=2**63 - 1, help="the alert's ID "
                                   "(the ID column of `dpictl alerts list`)."),
    output: str = typer.Option("table", "--output", "-o", help="table or json."),
    db: Optional[Path] = params.DbOpt,
) -> None:
    """Show one alert: the alert, its rule with the matched contents highlighted, and the
    triggering packet dissected by Wireshark (tshark, through pyshark)."""
    if output not in ("table", "json"):
        raise UsageError(f"unknown output {output!r}", hint="use table or json")
    from dpictl.alerts.store import AlertStore
    from dpictl.investigate.dissect import INSTALL_HINT, DissectorMissing, dissect
    from dpictl.investigate.highlight import matched_content_spans

    with AlertStore(db) as store:
        alert = store.get(alert_id)
    if alert is None:
        raise NotFound(f"no alert with ID {alert_id}", hint="list them with `dpictl alerts list`")
    layers, missing = None, None
    if alert.packet:
        try:
            layers = dissect(alert.packet, alert.linktype, alert.time)
        except DissectorMissing as exc:
            missing = f"{exc}; {INSTALL_HINT}"
    spans = matched_content_spans(alert.rule_text, alert.packet)
    if output == "json":
        from dpictl.alerts.calico_event import to_calico

        doc = {"alert": to_calico(alert), "rule": alert.rule_text,
               "matched_contents": [alert.rule_text[a:b] for a, b in spans],
               "packet": base64.b64encode(alert.packet).decode("ascii"),
               "linktype": alert.linktype,
               "context": [kept.to_dict() for kept in alert.context],
               "dissection": [layer.to_dict() for layer in layers] if layers is not None
               else None}
        if missing:
            doc["dissection_error"] = missing
        typer.echo(json.dumps(doc, indent=2))
        return
    from rich.console import Console

    from dpictl.cli.render.evidence import show_alert
    from dpictl.cli.render.theme import THEME

    show_alert(Console(theme=THEME, highlight=False), alert, spans, layers, missing)


def export_cmd(
    pcap: Path = typer.Option(..., "--pcap", help="the pcapng file to write."),
    sid: Optional[int] = params.SidFilterOpt,
    since: Optional[str] = params.SinceFilterOpt,
    namespace: Optional[str] = params.NamespaceOpt,
    pod: Optional[str] = params.PodFilterOpt,
    limit: Optional[int] = params.LimitFilterOpt,
    db: Optional[Path] = params.DbOpt,
) -> None:
    """Write the triggering packets of the alerts (same filters as `list`) as pcapng, each
    commented with its rule, after the packets of its flow that led up to it; Wireshark
    and tshark open it."""
    from dpictl.alerts.store import AlertStore
    from dpictl.cli.alerts import since_timestamp
    from dpictl.investigate.export import write_pcapng

    since_ts = since_timestamp(since)
    with AlertStore(db) as store:
        alerts = store.query(sid=sid, since=since_ts, namespace=namespace, pod=pod,
                             limit=limit)
    if not alerts:
        raise InputError("no alerts match these filters: nothing to export")
    try:
        count = write_pcapng(pcap, alerts)
    except OSError as exc:
        raise InputError(f"cannot write {pcap}: {exc.strerror or exc}") from None
    without = count.without_packet
    typer.echo(f"{count.packets} packet{'s' if count.packets != 1 else ''} written to {pcap} "
               f"({count.triggering} triggering, {count.packets - count.triggering} before "
               f"them in their flows)"
               + (f"; {without} alert{'s' if without != 1 else ''} kept no packet"
                  if without else ""))


def register(alerts_app: typer.Typer) -> None:
    alerts_app.command("show", no_args_is_help=True)(show_cmd)
    alerts_app.command("export", no_args_is_help=True)(export_cmd)


__all__ = ["register"]
