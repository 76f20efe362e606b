"""`dpictl graph`: the alerts as a namespace/pod graph, in the terminal or as a picture."""

from __future__ import annotations

from pathlib import Path
from typing import TYPE_CHECKING, Optional

import typer

from dpictl.cli import params
from dpictl.errors import UsageError

# dpictl.graph and rich load when `dpictl graph` runs, not with every command.
if TYPE_CHECKING:
    from rich.tree import Tree

    from dpictl.graph import WorkloadGraph


def _tree(graph: WorkloadGraph) -> Tree:
    from rich.tree import Tree

    root = Tree("[bold]alerts by source → destination[/bold]")
    if not graph.edges:
        root.add("[dim]no alerts[/dim]")
    for edge in sorted(graph.edges.values(), key=lambda e: (-e.alerts, e.source, e.dest)):
        src, dst = graph.nodes[edge.source], graph.nodes[edge.dest]
        branch = root.add(f"[cyan]{src.label}[/cyan] → [magenta]{dst.label}[/magenta]: "
                          f"[bold red]{edge.alerts}[/bold red]"
                          + (f"  [dim](seen on {', '.join(sorted(edge.seen_on))})[/dim]"
                             if edge.seen_on else ""))
        for (sid, msg), count in edge.signatures.most_common():
            branch.add(f"{count} × sid {sid} {msg}")
    return root


def register(app: typer.Typer) -> None:
    @app.command("graph")
    def graph(
        since: Optional[str] = typer.Option(None, "--since", help="Only alerts newer than "
                                            "this (30s, 5m, 1h, 2d)."),
        namespace: Optional[str] = params.NamespaceOpt,
        output: str = typer.Option("text", "--output", "-o", help="text or dot."),
        image: Optional[Path] = typer.Option(None, "--image", help="Also draw the graph into "
                                             "this .png or .svg file (needs Graphviz)."),
        db: Optional[Path] = params.DbOpt,
    ) -> None:
        """Show which workloads set off which signatures, talking to whom."""
        import time

        from rich.console import Console

        from dpictl.alerts import AlertStore
        from dpictl.duration import parse_duration
        from dpictl.graph import build_graph, render_dot, render_image
        from dpictl.paths import default_db_path

        if output not in ("text", "dot"):
            raise UsageError(f"unknown output {output!r}", hint="use text or dot")
        cutoff = time.time() - parse_duration(since) if since else None
        alerts = AlertStore(db or default_db_path()).query(since=cutoff, namespace=namespace)
        g = build_graph(alerts)
        dot_text = render_dot(g)
        if output == "dot":
            typer.echo(dot_text, nl=False)
        else:
            Console().print(_tree(g))
        if image is not None:
            render_image(dot_text, image)
            Console(stderr=True).print(f"graph drawn to {image}")
