"""Render an AlertGraph as Graphviz DOT, and DOT as SVG/PNG through Graphviz's `dot`.

Graphviz is the tool made for laying out graphs; hand-placing boxes would be worse and longer.
Namespaces become clusters, DPI endpoints get a bold outline, and an edge's width grows with
its alert count.
"""

from __future__ import annotations

import shutil
import subprocess
from pathlib import Path

from dpictl.errors import InputError, NotFound
from dpictl.graph.model import AlertGraph

FORMATS = ("svg", "png")


def _quote(text: str) -> str:
    escaped = text.replace("\\", "\\\\").replace('"', '\\"').replace("\n", "\\n")
    return '"' + escaped + '"'


def _edge_label(edge) -> str:
    top = edge.signatures.most_common(2)
    lines = [f"{edge.alerts} alert{'s' if edge.alerts != 1 else ''}"]
    lines += [f"sid {sid}: {msg[:40]}" for (sid, msg), _ in top]
    if len(edge.signatures) > 2:
        lines.append(f"+{len(edge.signatures) - 2} more")
    return "\n".join(lines)


def render_dot(graph: AlertGraph, title: str = "dpictl alerts") -> str:
    out = ["digraph dpictl {", f"  label={_quote(title)}; labelloc=t; rankdir=LR;",
           '  node [shape=box, style="rounded,filled", fillcolor="#f4f6f8", fontname="Helvetica"];',
           '  edge [fontname="Helvetica", fontsize=10, color="#c0392b"];']
    by_ns: dict[str, list] = {}
    for node in graph.nodes.values():
        by_ns.setdefault(node.namespace, []).append(node)
    for i, ns in enumerate(sorted(by_ns)):
        indent = "  "
        if ns:
            out.append(f"  subgraph cluster_{i} {{ label={_quote('namespace ' + ns)}; "
                       'style=dashed; color="#7f8c8d";')
            indent = "    "
        for node in sorted(by_ns[ns], key=lambda n: n.key):
            attrs = [f"label={_quote(node.name + (chr(10) + node.ip if node.ip else ''))}"]
            if node.key in graph.inspected:
                attrs.append('penwidth=2.5, color="#2c3e50", fillcolor="#fdebd0"')
            out.append(f"{indent}{_quote(node.key)} [{', '.join(attrs)}];")
        if ns:
            out.append("  }")
    for edge in sorted(graph.edges.values(), key=lambda e: (e.source, e.dest)):
        width = min(1 + edge.alerts ** 0.5, 6)
        out.append(f"  {_quote(edge.source)} -> {_quote(edge.dest)} "
                   f"[label={_quote(_edge_label(edge))}, penwidth={width:.1f}];")
    out.append("}")
    return "\n".join(out) + "\n"


def render_image(dot_text: str, path: Path, fmt: str | None = None) -> Path:
    """Lay out and draw `dot_text` into `path` (format from the suffix unless given)."""
    fmt = fmt or path.suffix.lstrip(".").lower()
    if fmt not in FORMATS:
        raise InputError(f"cannot draw a graph as {fmt!r}", hint="use a .svg or .png file name")
    dot = shutil.which("dot")
    if dot is None:
        raise NotFound("Graphviz `dot` is not installed", hint="apt-get install graphviz")
    proc = subprocess.run([dot, f"-T{fmt}", "-o", str(path)], input=dot_text.encode(),
                          capture_output=True, timeout=60)
    if proc.returncode != 0:
        raise InputError(f"dot failed: {proc.stderr.decode(errors='replace').strip()[:200]}")
    return path


__all__ = ["FORMATS", "render_dot", "render_image"]
