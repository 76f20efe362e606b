"""`dpictl graph`: who talked to whom (flow logs) and what it set off (alerts), in the
terminal, as DOT or JSON, or as a picture."""

from __future__ import annotations

from pathlib import Path
from typing import TYPE_CHECKING, Optional

import typer

from dpictl.cli import params
from dpictl.errors import UsageError

# dpictl.graph and rich load when `dpictl graph` runs, not with every command.
if TYPE_CHECKING:
    from rich.tree import Tree

    from dpictl.graph import Edge, WorkloadGraph

OUTPUTS = ("text", "dot", "json")


def _traffic_text(edge: Edge) -> str:
    if not edge.by_reporter:
        return ""
    ports = ", ".join(f"{proto}/{port}" for proto, port in sorted(edge.ports))
    return f"{edge.flows} flow{'s' if edge.flows != 1 else ''} {ports}"


def _tree(graph: WorkloadGraph) -> Tree:
    from rich.markup import escape
    from rich.tree import Tree

    root = Tree("[bold]traffic by source → destination[/bold]")
    if not graph.edges:
        root.add("[dim]no flows or alerts[/dim]")
    for edge in sorted(graph.edges.values(), key=lambda e: (-e.alerts, e.source, e.dest)):
        src, dst = graph.nodes[edge.source], graph.nodes[edge.dest]
        parts = [f"[bold red]{edge.alerts} alert{'s' if edge.alerts != 1 else ''}[/bold red]"
                 if edge.alerts else "", _traffic_text(edge)]
        line = (f"[cyan]{escape(src.label)}[/cyan] → [magenta]{escape(dst.label)}[/magenta]: "
                + " · ".join(p for p in parts if p))
        if edge.seen_on:
            line += f"  [dim](seen on {escape(', '.join(sorted(edge.seen_on)))})[/dim]"
        branch = root.add(line)
        for (sid, msg), count in edge.signatures.most_common():
            branch.add(escape(f"{count} × sid {sid} {msg}"))
    return root


def _from_store(db: Optional[Path], namespace: Optional[str],
                since: Optional[float]) -> tuple[list, list]:
    from dpictl.alerts import AlertStore
    from dpictl.flowlogs.store import FlowLogStore
    from dpictl.paths import default_db_path

    path = db or default_db_path()
    with AlertStore(path) as alerts, FlowLogStore(path) as flows:
        return (alerts.query(since=since, namespace=namespace),
                flows.query(namespace=namespace, since=since))


def _from_cluster(kubeconfig: Optional[Path], context: Optional[str],
                  agent_namespace: Optional[str], namespace: Optional[str],
                  since: Optional[float]) -> tuple[list, list]:
    """The alerts (DPIAlert Events) and the agents' flow log ConfigMaps, read and filtered
    as `alerts list` and `flows list` read them."""
    from dpictl.backends import open_backend
    from dpictl.backends.kubernetes.agent_manifests import DEFAULT_NAMESPACE
    from dpictl.backends.kubernetes.flowlogs import filter_records, read_flowlogs
    from dpictl.cli.alerts import _cluster_alerts, _filter

    alerts = _filter(_cluster_alerts(kubeconfig, context, namespace, since),
                     None, since, namespace, None)
    cluster = open_backend("kubernetes", kubeconfig=kubeconfig, context=context)
    try:
        flows = read_flowlogs(cluster, agent_namespace or DEFAULT_NAMESPACE)
    finally:
        cluster.close()
    return alerts, filter_records(flows, namespace, since)


def register(app: typer.Typer) -> None:
    @app.command("graph")
    def graph(
        since: Optional[str] = typer.Option(None, "--since", help="Only flows and alerts "
                                            "newer than this (30s, 5m, 1h, 2d)."),
        namespace: Optional[str] = typer.Option(
            None, "--namespace", "-n", help="Only traffic from or to this namespace."),
        alerting_only: bool = typer.Option(False, "--alerting-only", help="Leave out the "
                                           "edges that carried traffic but set nothing off."),
        output: str = typer.Option("text", "--output", "-o", help="text, dot or json."),
        image: Optional[Path] = typer.Option(None, "--image", help="Also draw the graph into "
                                             "this .png or .svg file (needs Graphviz)."),
        db: Optional[Path] = params.DbOpt,
        backend: str = params.BackendOpt,
        kubeconfig: Optional[Path] = params.KubeconfigOpt,
        context: Optional[str] = params.ContextOpt,
        agent_namespace: Optional[str] = params.AgentNamespaceOpt,
    ) -> None:
        """Who talked to whom (flow logs) and what it set off (alerts).

        Every pair of workloads that talked is an edge; alerting edges are red and carry
        their SIDs. With no flow logs (e.g. after `inspect`), the alerts alone draw it."""
        import json

        from rich.console import Console

        from dpictl.backends import check_backend
        from dpictl.cli.alerts import since_timestamp
        from dpictl.graph import build_graph, render_dot, render_image
        from dpictl.graph.dot import image_format

        if output not in OUTPUTS:
            raise UsageError(f"unknown output {output!r}", hint="use text, dot or json")
        if image is not None:
            image_format(image)          # a bad file name fails before anything is printed
        cutoff = since_timestamp(since)
        if check_backend(backend) == "kubernetes":
            alerts, flows = _from_cluster(kubeconfig, context, agent_namespace, namespace,
                                          cutoff)
        else:
            alerts, flows = _from_store(db, namespace, cutoff)
        g = build_graph(alerts, flows)
        if alerting_only:
            g = g.alerting_only()
        title = " · ".join(["dpictl graph"] + ([f"namespace {namespace}"] if namespace else [])
                           + ([f"last {since}"] if since else []))
        if output == "dot":
            typer.echo(render_dot(g, title), nl=False)
        elif output == "json":
            typer.echo(json.dumps(g.to_dict(), indent=2))
        else:
            Console().print(_tree(g))
        if image is not None:
            render_image(render_dot(g, title), image)
            Console(stderr=True).print(f"graph drawn to {image}")
