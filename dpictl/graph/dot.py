"""Render a WorkloadGraph as Graphviz DOT, and DOT as SVG/PNG through Graphviz's `dot`.

Graphviz is the tool made for laying out graphs; hand-placing boxes would be worse and longer.
Nodes are `namespace/pod` (or an address), DPI endpoints get a bold outline, alerting edges
are red and grow with their alert count, edges that only carried traffic are thin and grey.

Labels that never overlap: an alerting edge's label is a *node* placed on the edge
(source → label → destination), not a DOT edge label. `dot` never lets two nodes overlap
and routes splines around nodes, whereas edge labels and `xlabel`s are placed after the
layout and collide (three edges into red2 put their labels in one spot, and splines ran
through them). There are no namespace clusters either: `dot` ranks a cluster on its own
first, which put a destination left of its own label (arrows running backwards), and it
routed splines through cluster headings. The namespace is in every node's label instead.
tests/graph/test_label_layout.py checks the layout `dot` makes for all of this.
"""

from __future__ import annotations

import shutil
import subprocess
from pathlib import Path

from dpictl.errors import InputError, NotFound
from dpictl.graph.model import Edge, Node, WorkloadGraph

FORMATS = ("svg", "png")

ALERT_COLOUR, ALERT_TEXT, ALERT_FILL = "#c0392b", "#922b21", "#fdedec"
PLAIN_COLOUR = "#95a5a6"
MAX_SIDS_SHOWN = 3          # an edge label lists this many signatures, then "+N more"
MESSAGE_CHARS = 32          # of each signature's msg (the whole msg is in the tooltip)


def _quote(text: str) -> str:
    escaped = text.replace("\\", "\\\\").replace('"', '\\"').replace("\n", "\\n")
    return '"' + escaped + '"'


def _attrs(**attrs: object) -> str:
    return "[" + ", ".join(f"{k}={v}" for k, v in attrs.items()) + "]"


def _short(text: str, limit: int = MESSAGE_CHARS) -> str:
    return text if len(text) <= limit else text[:limit - 1].rstrip() + "…"


def edge_label(edge: Edge) -> str:
    """`N alerts`, then the most frequent signatures (sid and the start of the msg)."""
    lines = [f"{edge.alerts} alert{'s' if edge.alerts != 1 else ''}"]
    for (sid, msg), count in edge.signatures.most_common(MAX_SIDS_SHOWN):
        times = f" ×{count}" if count > 1 and len(edge.signatures) > 1 else ""
        lines.append(f"sid {sid}{times}: {_short(msg)}" if msg else f"sid {sid}{times}")
    if len(edge.signatures) > MAX_SIDS_SHOWN:
        lines.append(f"+{len(edge.signatures) - MAX_SIDS_SHOWN} more")
    return "\n".join(lines)


def _tooltip(graph: WorkloadGraph, edge: Edge) -> str:
    src, dst = graph.nodes[edge.source], graph.nodes[edge.dest]
    lines = [f"{src.label} → {dst.label}"]
    if edge.by_reporter:
        ports = ", ".join(f"{proto}/{port}" for proto, port in sorted(edge.ports))
        lines.append(f"{edge.flows} flow{'s' if edge.flows != 1 else ''} ({ports})")
    lines += [f"{count} × sid {sid}: {msg}" for (sid, msg), count
              in edge.signatures.most_common()]
    return "\n".join(lines)


def _node_line(graph: WorkloadGraph, node: Node) -> str:
    text = node.label + (f"\n{node.ip}" if node.ip and node.ip != node.name else "")
    attrs = {"label": _quote(text), "tooltip": _quote(text)}
    if node.key in graph.inspected:
        attrs.update(penwidth="2.5", color='"#2c3e50"', fillcolor='"#fdebd0"')
    return f"{_quote(node.key)} {_attrs(**attrs)};"


def _label_node_id(edge: Edge) -> str:
    # Workload keys are namespace/name and namespaces hold no ':', so this cannot collide.
    return f"alerts:{edge.source}->{edge.dest}"


# Label nodes look like an edge's tag: small red text on a pale red rounded box.
_LABEL_NODE_STYLE = (f'shape=box, style="rounded,filled", fontsize=10, fontcolor="{ALERT_TEXT}", '
                     f'fillcolor="{ALERT_FILL}", color="{ALERT_COLOUR}", margin="0.08,0.03", '
                     'width=0, height=0')


def _label_node_line(graph: WorkloadGraph, edge: Edge) -> str:
    return (f"{_quote(_label_node_id(edge))} [label={_quote(edge_label(edge))}, "
            f"tooltip={_quote(_tooltip(graph, edge))}, {_LABEL_NODE_STYLE}];")


def _edge_lines(graph: WorkloadGraph, edge: Edge) -> list[str]:
    src, dst, tip = _quote(edge.source), _quote(edge.dest), _quote(_tooltip(graph, edge))
    if not edge.alerts:
        # minlen 2: a plain edge spans as many ranks as an alerting one (which passes
        # through its label node), so sources and destinations line up in columns.
        return [f"{src} -> {dst} {_attrs(color=_quote(PLAIN_COLOUR), minlen=2, tooltip=tip)};"]
    width = f"{min(1 + edge.alerts ** 0.5, 6):.1f}"
    label = _quote(_label_node_id(edge))
    return [
        f"{src} -> {label} {_attrs(arrowhead='none', penwidth=width, weight=4, tooltip=tip)};",
        f"{label} -> {dst} {_attrs(penwidth=width, weight=4, tooltip=tip)};",
    ]


def render_dot(graph: WorkloadGraph, title: str = "dpictl graph") -> str:
    out = ["digraph dpictl {",
           '  rankdir=LR; fontname="Helvetica"; nodesep=0.3; ranksep=0.4;',
           '  node [shape=box, style="rounded,filled", fillcolor="#f4f6f8", '
           'fontname="Helvetica"];',
           f'  edge [color="{ALERT_COLOUR}", arrowsize=0.8];']
    edges = sorted(graph.edges.values(), key=lambda e: (e.source, e.dest))
    out += [f"  {_node_line(graph, node)}"
            for node in sorted(graph.nodes.values(), key=lambda n: (n.namespace, n.key))]
    out += [f"  {_label_node_line(graph, edge)}" for edge in edges if edge.alerts]
    out += [f"  {line}" for edge in edges for line in _edge_lines(graph, edge)]
    out += [f"  label={_quote(title)}; labelloc=t;", "}"]
    return "\n".join(out) + "\n"


def image_format(path: Path, fmt: str | None = None) -> str:
    """The picture format for `path` (from its suffix unless given), or a one-line error."""
    fmt = fmt or path.suffix.lstrip(".").lower()
    if fmt not in FORMATS:
        raise InputError(f"cannot draw a graph as {fmt!r}", hint="use a .svg or .png file name")
    return fmt


def render_image(dot_text: str, path: Path, fmt: str | None = None) -> Path:
    """Lay out and draw `dot_text` into `path` (format from the suffix unless given)."""
    fmt = image_format(path, fmt)
    dot = shutil.which("dot")
    if dot is None:
        raise NotFound("Graphviz `dot` is not installed", hint="apt-get install graphviz")
    proc = subprocess.run([dot, f"-T{fmt}", "-o", str(path)], input=dot_text.encode(),
                          capture_output=True, timeout=60)
    if proc.returncode != 0:
        raise InputError(f"dot failed: {proc.stderr.decode(errors='replace').strip()[:200]}")
    return path


__all__ = ["FORMATS", "edge_label", "image_format", "render_dot", "render_image"]
