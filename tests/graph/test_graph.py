"""The alert graph: folding alerts into nodes/edges, DOT text, and a real drawing."""

from __future__ import annotations

import shutil
from pathlib import Path

import pytest

from dpictl.alerts.record import Alert, Endpoint
from dpictl.errors import InputError
from dpictl.graph import build_graph, render_dot, render_image


def _alert(src: tuple[str, str, str], dst: tuple[str, str, str], sid: int = 21562,
           seen: tuple[str, str] | None = None) -> Alert:
    return Alert(time=1.0, source_ip=src[2], source_port=40000, dest_ip=dst[2], dest_port=80,
                 proto="TCP", gid=1, sid=sid, rev=1, signature=f"rule {sid}",
                 source_name=src[0], source_namespace=src[1], dest_name=dst[0],
                 dest_namespace=dst[1],
                 endpoint=Endpoint(seen[1], seen[0], "cali0") if seen else None)


RED1, RED2 = ("red1", "red", "10.0.0.1"), ("red2", "red", "10.0.0.2")
BLUE1, OUTSIDE = ("blue1", "blue", "10.0.0.3"), ("", "", "203.0.113.9")


def test_lab_alerts_fold_into_three_edges() -> None:
    alerts = [_alert(RED1, RED2, seen=("red", "red1")), _alert(RED1, RED2, seen=("red", "red2")),
              _alert(RED1, BLUE1, seen=("red", "red1")), _alert(OUTSIDE, RED2, sid=254)]
    g = build_graph(alerts)
    assert set(g.nodes) == {"red/red1", "red/red2", "blue/blue1", "203.0.113.9"}
    assert g.edges[("red/red1", "red/red2")].alerts == 2
    assert g.edges[("red/red1", "red/red2")].seen_on == {"red/red1", "red/red2"}
    assert g.alerts_from("red/red1") == 3 and g.alerts_to("red/red2") == 3
    assert g.inspected == {"red/red1", "red/red2"}
    assert g.namespaces == ["blue", "red"]


def test_dot_groups_namespaces_and_labels_counts() -> None:
    dot = render_dot(build_graph([_alert(RED1, RED2), _alert(RED1, RED2), _alert(OUTSIDE, RED2)]))
    assert dot.startswith("digraph dpictl {")
    assert 'label="namespace red"' in dot
    assert '"red/red1" -> "red/red2" [label="2 alerts' in dot
    assert '"203.0.113.9" -> "red/red2" [label="1 alert\\n' in dot


@pytest.mark.skipif(shutil.which("dot") is None, reason="Graphviz is not installed")
@pytest.mark.parametrize("suffix, magic", [(".png", b"\x89PNG"), (".svg", b"<?xml")])
def test_render_image_draws_a_real_picture(tmp_path: Path, suffix: str, magic: bytes) -> None:
    out = render_image(render_dot(build_graph([_alert(RED1, RED2)])), tmp_path / f"g{suffix}")
    assert out.read_bytes().startswith(magic)
    assert out.stat().st_size > 500


def test_render_image_refuses_unknown_format(tmp_path: Path) -> None:
    with pytest.raises(InputError):
        render_image("digraph {}", tmp_path / "g.gif")
