"""`dpictl flows list`: Calico-style flow logs, from the local store or the agents'
ConfigMaps on a Kubernetes cluster."""

from __future__ import annotations

from pathlib import Path
from typing import Optional

import typer

from dpictl.cli import params
from dpictl.errors import UsageError

OUTPUTS = ("table", "json")

flows_app = typer.Typer(help="Flow logs: who talked to whom (every workload, as Calico's).",
                        no_args_is_help=True)


@flows_app.command("list")
def list_cmd(
    namespace: Optional[str] = typer.Option(None, "--namespace", "-n",
                                            help="only flows whose source or destination is "
                                                 "in this namespace."),
    since: Optional[str] = typer.Option(None, "--since", help="only flow logs of intervals "
                                        "ending within this, e.g. 30s, 5m, 1h30m, 2d."),
    output: str = typer.Option("table", "--output", "-o",
                               help="table, or json (Calico flow log records)."),
    limit: Optional[int] = typer.Option(None, "--limit", "-l", min=1, max=params.MAX_LIMIT,
                                        help="only the newest N records."),
    db: Optional[Path] = params.DbOpt,
    backend: str = params.BackendOpt,
    kubeconfig: Optional[Path] = params.KubeconfigOpt,
    context: Optional[str] = params.ContextOpt,
    agent_namespace: Optional[str] = params.AgentNamespaceOpt,
) -> None:
    """List flow logs, oldest first."""
    if output not in OUTPUTS:
        raise UsageError(f"unknown output {output!r}", hint="use one of: " + ", ".join(OUTPUTS))
    from dpictl.backends import check_backend
    from dpictl.cli.alerts import since_timestamp

    since_ts = since_timestamp(since)
    if check_backend(backend) == "kubernetes":
        from dpictl.backends import open_backend
        from dpictl.backends.kubernetes.agent_manifests import DEFAULT_NAMESPACE
        from dpictl.backends.kubernetes.flowlogs import filter_records, read_flowlogs

        cluster = open_backend("kubernetes", kubeconfig=kubeconfig, context=context)
        try:
            records = filter_records(read_flowlogs(cluster, agent_namespace
                                                   or DEFAULT_NAMESPACE), namespace, since_ts)
        finally:
            cluster.close()
        if limit is not None:
            records = records[-limit:]
    else:
        from dpictl.flowlogs.store import FlowLogStore

        with FlowLogStore(db) as store:
            records = store.query(namespace=namespace, since=since_ts, limit=limit)
    _render(output, records)


def _render(output: str, records: list) -> None:
    from rich.console import Console

    from dpictl.cli.render.flows import render_flows_table, write_flows_json

    if output == "json":
        write_flows_json(Console(), records)
    else:
        probe = Console()
        width = None if probe.is_terminal else max(probe.width, 140)
        render_flows_table(Console(highlight=False, width=width), records)


def register(app: typer.Typer) -> None:
    app.add_typer(flows_app, name="flows")


__all__ = ["register", "flows_app"]
