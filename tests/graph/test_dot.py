"""DOT text for the workload graph, and the pictures Graphviz draws from it."""

from __future__ import annotations

import shutil
from pathlib import Path

import pytest

from dpictl.errors import InputError
from dpictl.graph import build_graph, render_dot, render_image
from dpictl.graph.dot import edge_label
from tests.graph.factories import OUTSIDE, RED1, RED2, alert, lab_alerts, lab_flows


def _lines_with(dot: str, *parts: str) -> list[str]:
    return [line.strip() for line in dot.splitlines() if all(p in line for p in parts)]


def test_alerting_edges_pass_through_a_label_node_naming_their_sids() -> None:
    dot = render_dot(build_graph(lab_alerts(), lab_flows()))
    label_node = '"alerts:red/red1->red/red2"'
    assert _lines_with(dot, f"{label_node} [label=")[0].startswith(
        f'{label_node} [label="2 alerts\\nsid 21562: MALWARE-CNC Win.Trojan.Bredolab…"')
    assert len(_lines_with(dot, f'"red/red1" -> {label_node}', "arrowhead=none")) == 1
    assert len(_lines_with(dot, f'{label_node} -> "red/red2"')) == 1
    assert len(_lines_with(dot, "[label=", "sid 21562")) == 3


def test_an_edge_that_only_carried_traffic_is_grey_and_unlabelled() -> None:
    dot = render_dot(build_graph(lab_alerts(), lab_flows()))
    [quiet] = _lines_with(dot, '"blue/blue2" -> "blue/blue1"')
    assert 'color="#95a5a6"' in quiet and "label=" not in quiet
    assert "alerts:blue/blue2->blue/blue1" not in dot


def test_nodes_name_their_namespace_and_dpi_endpoints_stand_out() -> None:
    dot = render_dot(build_graph(lab_alerts(), lab_flows()))
    [red1] = _lines_with(dot, '"red/red1" [label=')
    [blue2] = _lines_with(dot, '"blue/blue2" [label=')
    assert red1.startswith('"red/red1" [label="red/red1\\n10.0.0.1"') and "penwidth=2.5" in red1
    assert blue2.startswith('"blue/blue2" [label="blue/blue2\\n10.0.0.4"')
    assert "penwidth" not in blue2
    assert "subgraph" not in dot      # see dpictl/graph/dot.py: clusters broke the layout


def test_edge_label_lists_the_top_signatures_with_counts_then_the_rest() -> None:
    alerts = [alert(RED1, RED2, sid=sid, msg=f"rule {sid}")
              for sid, times in ((1, 3), (2, 2), (3, 1), (4, 1)) for _ in range(times)]
    label = edge_label(build_graph(alerts).edges[("red/red1", "red/red2")])
    assert label.splitlines() == ["7 alerts", "sid 1 ×3: rule 1", "sid 2 ×2: rule 2",
                                  "sid 3: rule 3", "+1 more"]


def test_dot_quotes_what_it_is_given() -> None:
    dot = render_dot(build_graph([alert(OUTSIDE, RED2, msg='say "hi" \\ bye')]))
    assert 'sid 21562: say \\"hi\\" \\\\ bye' in dot


@pytest.mark.skipif(shutil.which("dot") is None, reason="Graphviz is not installed")
@pytest.mark.parametrize("suffix, magic", [(".png", b"\x89PNG"), (".svg", b"<?xml")])
def test_render_image_draws_a_real_picture(tmp_path: Path, suffix: str, magic: bytes) -> None:
    out = render_image(render_dot(build_graph(lab_alerts(), lab_flows())), tmp_path / f"g{suffix}")
    assert out.read_bytes().startswith(magic)
    assert out.stat().st_size > 500


def test_render_image_refuses_unknown_format(tmp_path: Path) -> None:
    with pytest.raises(InputError):
        render_image("digraph {}", tmp_path / "g.gif")
