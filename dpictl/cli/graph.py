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
    ) -> None:
        """Who talked to whom (flow logs) and what it set off (alerts).

        Every pair of workloads that talked is an edge; alerting edges are red and carry
        their SIDs. With no flow logs (e.g. after `inspect`), the alerts alone draw it."""
        import json
        import time

        from rich.console import Console

        from dpictl.alerts import AlertStore
        from dpictl.duration import parse_duration
        from dpictl.flowlogs.store import FlowLogStore
        from dpictl.graph import build_graph, render_dot, render_image
        from dpictl.graph.dot import image_format
        from dpictl.paths import default_db_path

        if output not in OUTPUTS:
            raise UsageError(f"unknown output {output!r}", hint="use text, dot or json")
        if image is not None:
            image_format(image)          # a bad file name fails before anything is printed
        cutoff = time.time() - parse_duration(since) if since else None
        path = db or default_db_path()
        with AlertStore(path) as alert_store, FlowLogStore(path) as flow_store:
            g = build_graph(alert_store.query(since=cutoff, namespace=namespace),
                            flow_store.query(namespace=namespace, since=cutoff))
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
