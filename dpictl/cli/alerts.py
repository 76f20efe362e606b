"""`dpictl alerts list|clear`: the stored alerts, from the local store or a cluster's Events."""

from __future__ import annotations

import time
from pathlib import Path
from typing import Optional

import typer

from dpictl.cli import params
from dpictl.errors import UsageError

OUTPUTS = ("table", "json", "eve")

alerts_app = typer.Typer(help="Stored DPI alerts: list, show, export and clear them.",
                         no_args_is_help=True)


def since_timestamp(since: Optional[str]) -> Optional[float]:
    if since is None:
        return None
    from dpictl.duration import parse_duration

    return time.time() - parse_duration(since)


def _cluster_alerts(kubeconfig: Optional[Path], context: Optional[str],
                    namespace: Optional[str], since: Optional[float]) -> list:
    try:
        from dpictl.backends.kubernetes.events import list_alerts
    except ImportError:
        raise UsageError("the kubernetes backend cannot list alerts in this build",
                         hint="use --backend local") from None
    return list(list_alerts(kubeconfig=kubeconfig, context=context, namespace=namespace,
                            since=since))


def _filter(alerts: list, sid: Optional[int], since: Optional[float],
            namespace: Optional[str], pod: Optional[str]) -> list:
    """The store's filters, applied to alerts that did not come from the store."""
    def keep(a) -> bool:
        if sid is not None and a.sid != sid:
            return False
        if since is not None and a.time < since:
            return False
        if namespace is None and pod is None:
            return True
        ep = a.endpoint
        sides = [(a.source_namespace, a.source_name), (a.dest_namespace, a.dest_name)]
        if ep is not None:
            sides.append((ep.namespace, ep.name))
        return any((namespace is None or ns == namespace) and (pod is None or name == pod)
                   for ns, name in sides)
    return sorted((a for a in alerts if keep(a)), key=lambda a: a.time)


@alerts_app.command("list")
def list_cmd(
    sid: Optional[int] = params.SidFilterOpt,
    since: Optional[str] = params.SinceFilterOpt,
    namespace: Optional[str] = params.NamespaceOpt,
    pod: Optional[str] = params.PodFilterOpt,
    output: str = typer.Option("table", "--output", "-o", help="table, json (Calico records) "
                               "or eve (JSON lines)."),
    limit: Optional[int] = params.LimitFilterOpt,
    db: Optional[Path] = params.DbOpt,
    backend: str = params.BackendOpt,
    kubeconfig: Optional[Path] = params.KubeconfigOpt,
    context: Optional[str] = params.ContextOpt,
) -> None:
    """List alerts, oldest first."""
    if output not in OUTPUTS:
        raise UsageError(f"unknown output {output!r}", hint="use one of: " + ", ".join(OUTPUTS))
    from dpictl.backends import check_backend

    since_ts = since_timestamp(since)
    if check_backend(backend) == "kubernetes":
        alerts = _filter(_cluster_alerts(kubeconfig, context, namespace, since_ts),
                         sid, since_ts, namespace, pod)
        if limit is not None:
            alerts = alerts[-limit:]
    else:
        from dpictl.alerts.store import AlertStore

        with AlertStore(db) as store:
            alerts = store.query(sid=sid, since=since_ts, namespace=namespace, pod=pod,
                                 limit=limit)
    _render(output, alerts)


def _render(output: str, alerts: list) -> None:
    # rich and the renderers load here, not at import: other commands never need them.
    from rich.console import Console

    if output == "json":
        from dpictl.cli.render.json import write_calico_json

        write_calico_json(Console(), alerts)
    elif output == "eve":
        from dpictl.cli.render.eve import write_eve

        write_eve(Console(), alerts)
    else:
        from dpictl.cli.render.table import render_alerts_table
        from dpictl.cli.render.theme import THEME

        probe = Console()
        width = None if probe.is_terminal else max(probe.width, 160)
        render_alerts_table(Console(theme=THEME, highlight=False, width=width), alerts)


@alerts_app.command("clear")
def clear_cmd(db: Optional[Path] = params.DbOpt) -> None:
    """Delete every stored alert (local store)."""
    from dpictl.alerts.store import AlertStore

    with AlertStore(db) as store:
        removed = store.clear()
    typer.echo(f"{removed} alert{'' if removed == 1 else 's'} removed")


def register(app: typer.Typer) -> None:
    """Add `dpictl alerts` (with `show` and `export`, cli/alerts_evidence.py) to the root."""
    from dpictl.cli import alerts_evidence

    alerts_evidence.register(alerts_app)
    app.add_typer(alerts_app, name="alerts")


__all__ = ["register", "alerts_app"]
