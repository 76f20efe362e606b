"""Read what Graphviz drew back as boxes and curves, to check a picture for collisions.

`dot -Tjson` reports where every node went and, as xdot drawing operations, every piece of
text and every edge curve, in points. From that this module builds the boxes a reader sees
(nodes, and each label that is not inside a node: the title, namespace headings, edge labels)
and the edges' curves, and lists every pair that collides. It checks the layout Graphviz made,
whatever way the labels were placed, so a test written with it does not trust the renderer.
"""

from __future__ import annotations

import json
import shutil
import subprocess
from dataclasses import dataclass
from itertools import combinations

# Text height as a share of the font size above and below the baseline (Helvetica-like:
# ascenders reach about 0.75 em, descenders about 0.25 em).
_ASCENT, _DESCENT = 0.8, 0.25
# Splines start and end on their nodes' outlines; shrink boxes this much (points) when
# testing curves against them so that touching an outline is not a crossing.
_TOUCH = 1.0


@dataclass(frozen=True, slots=True)
class Box:
    """An axis-aligned rectangle, in points, and what it is (`node:...`, `label:...`)."""

    name: str
    x0: float
    y0: float
    x1: float
    y1: float

    def intersects(self, other: "Box") -> bool:
        return (self.x0 < other.x1 and other.x0 < self.x1
                and self.y0 < other.y1 and other.y0 < self.y1)

    def contains(self, x: float, y: float, inset: float = 0.0) -> bool:
        return (self.x0 + inset < x < self.x1 - inset) and (self.y0 + inset < y < self.y1 - inset)


@dataclass(frozen=True, slots=True)
class Curve:
    """One drawn edge: the node names at its ends and points sampled along its splines."""

    tail: str
    head: str
    points: tuple[tuple[float, float], ...]


@dataclass(frozen=True, slots=True)
class Layout:
    nodes: dict[str, Box]          # by node name (the DOT id)
    labels: list[Box]              # text drawn outside nodes: graph, cluster and edge labels
    curves: list[Curve]

    @property
    def boxes(self) -> list[Box]:
        """Everything with text in it: nodes (their text is inside) and outside labels."""
        return list(self.nodes.values()) + self.labels


def layout(dot_text: str) -> Layout:
    """Lay `dot_text` out with Graphviz's `dot` and read back the geometry."""
    proc = subprocess.run([shutil.which("dot") or "dot", "-Tjson"], input=dot_text.encode(),
                          capture_output=True, check=True, timeout=60)
    return parse_json(json.loads(proc.stdout))


def _text_box(name: str, ops: list[dict]) -> Box | None:
    """The union of the `T` (text) operations of one xdot op list, or None when it has none."""
    size, boxes = 14.0, []
    for op in ops:
        if op["op"] == "F":
            size = float(op["size"])
        elif op["op"] == "T":
            x, y = op["pt"]
            width = float(op["width"])
            left = {"l": x, "c": x - width / 2, "r": x - width}[op["align"]]
            boxes.append((left, y - _DESCENT * size, left + width, y + _ASCENT * size))
    if not boxes:
        return None
    return Box(name, min(b[0] for b in boxes), min(b[1] for b in boxes),
               max(b[2] for b in boxes), max(b[3] for b in boxes))


def _bezier(points: list[list[float]], steps: int = 24) -> list[tuple[float, float]]:
    """Sample a piecewise cubic Bezier (xdot `b` op: 1 + 3k control points)."""
    out = []
    for i in range(0, len(points) - 3, 3):
        (x0, y0), (x1, y1), (x2, y2), (x3, y3) = points[i:i + 4]
        for s in range(steps + 1):
            t = s / steps
            a, b, c, d = (1 - t) ** 3, 3 * t * (1 - t) ** 2, 3 * t * t * (1 - t), t ** 3
            out.append((a * x0 + b * x1 + c * x2 + d * x3, a * y0 + b * y1 + c * y2 + d * y3))
    return out


def parse_json(data: dict) -> Layout:
    """Geometry from Graphviz's JSON output (`-Tjson`, which carries the xdot operations)."""
    objects = data.get("objects", [])
    nodes: dict[str, Box] = {}
    labels: list[Box] = []
    title = _text_box("label:graph", data.get("_ldraw_", []))
    if title:
        labels.append(title)
    for obj in objects:
        if "nodes" in obj or "edges" in obj or "_subgraph_cnt" in obj or "bb" in obj:
            heading = _text_box(f"label:{obj['name']}", obj.get("_ldraw_", []))
            if heading:
                labels.append(heading)
            continue
        x, y = (float(v) for v in obj["pos"].split(","))
        half_w, half_h = float(obj["width"]) * 36, float(obj["height"]) * 36
        nodes[obj["name"]] = Box(f"node:{obj['name']}", x - half_w, y - half_h,
                                 x + half_w, y + half_h)
    curves = []
    for edge in data.get("edges", []):
        tail, head = objects[edge["tail"]]["name"], objects[edge["head"]]["name"]
        for key in ("_ldraw_", "_hldraw_", "_tldraw_"):
            text = _text_box(f"label:{tail}->{head}", edge.get(key, []))
            if text:
                labels.append(text)
        points = [p for op in edge.get("_draw_", []) if op["op"] == "b"
                  for p in _bezier(op["points"])]
        curves.append(Curve(tail, head, tuple(points)))
    return Layout(nodes, labels, curves)


def overlapping_boxes(lay: Layout) -> list[tuple[str, str]]:
    """Every pair of text-bearing boxes (nodes and labels) that intersect."""
    return [(a.name, b.name) for a, b in combinations(lay.boxes, 2) if a.intersects(b)]


def curves_through_boxes(lay: Layout) -> list[tuple[str, str]]:
    """Every (edge, box) where an edge's curve runs through a box other than its own ends."""
    hits = []
    for curve in lay.curves:
        ends = {f"node:{curve.tail}", f"node:{curve.head}"}
        for box in lay.boxes:
            if box.name in ends:
                continue
            if any(box.contains(x, y, _TOUCH) for x, y in curve.points):
                hits.append((f"{curve.tail}->{curve.head}", box.name))
    return hits
