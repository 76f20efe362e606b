"""`dpictl graph` over a state file holding the lab's flow logs and alerts."""

from __future__ import annotations

import json
import shutil
import time
from dataclasses import replace
from pathlib import Path

import pytest

from dpictl.alerts.store import AlertStore
from dpictl.flowlogs.store import FlowLogStore
from tests.cli.in_process import run
from tests.graph.factories import lab_alerts, lab_flows


@pytest.fixture
def lab_db(tmp_path: Path) -> Path:
    db = tmp_path / "dpictl.db"
    now = time.time()
    with AlertStore(db) as alerts:
        alerts.add(replace(a, time=now) for a in lab_alerts())
    with FlowLogStore(db) as flows:
        flows.write(replace(f, start_time=now - 30, end_time=now) for f in lab_flows())
    return db


def _edges(out: str) -> dict[tuple[str, str], dict]:
    return {(e["source"], e["dest"]): e for e in json.loads(out)["edges"]}


def test_json_has_all_four_lab_requests_and_the_three_that_alerted(capsys, lab_db) -> None:
    code, out, err = run(capsys, "graph", "--db", str(lab_db), "-o", "json")
    assert code == 0, err
    edges = _edges(out)
    assert set(edges) == {("red/red1", "red/red2"), ("red/red1", "blue/blue1"),
                          ("blue/blue2", "red/red2"), ("blue/blue2", "blue/blue1")}
    assert {k: e["alerts"] for k, e in edges.items()} == {
        ("red/red1", "red/red2"): 2, ("red/red1", "blue/blue1"): 1,
        ("blue/blue2", "red/red2"): 1, ("blue/blue2", "blue/blue1"): 0}
    assert all(e["flows"] == 1 and e["ports"] == ["tcp/80"] for e in edges.values())


def test_namespace_alerting_only_and_since_narrow_the_graph(capsys, lab_db) -> None:
    _, out, _ = run(capsys, "graph", "--db", str(lab_db), "-o", "json", "-n", "blue")
    assert ("red/red1", "red/red2") not in _edges(out) and len(_edges(out)) == 3
    _, out, _ = run(capsys, "graph", "--db", str(lab_db), "-o", "dot", "-n", "blue",
                    "--since", "1h")
    assert 'label="dpictl graph · namespace blue · last 1h"' in out
    _, out, _ = run(capsys, "graph", "--db", str(lab_db), "-o", "json", "--alerting-only")
    assert ("blue/blue2", "blue/blue1") not in _edges(out) and len(_edges(out)) == 3
    assert "blue/blue1" in {n["key"] for n in json.loads(out)["nodes"]}
    with AlertStore(lab_db) as alerts, FlowLogStore(lab_db) as flows:
        alerts.add([replace(lab_alerts()[0], time=time.time() - 7200, sid=999)])
        flows.write([replace(lab_flows()[0], end_time=time.time() - 7200, dest_port=8080)])
    _, out, _ = run(capsys, "graph", "--db", str(lab_db), "-o", "json", "--since", "1h")
    red = _edges(out)[("red/red1", "red/red2")]
    assert red["ports"] == ["tcp/80"] and [s["sid"] for s in red["signatures"]] == [21562]


def test_text_lists_traffic_and_alerts_per_edge(capsys, lab_db) -> None:
    code, out, _ = run(capsys, "graph", "--db", str(lab_db))
    assert code == 0
    assert "red/red1 → red/red2: 2 alerts · 1 flow tcp/80" in out
    assert "blue/blue2 → blue/blue1: 1 flow tcp/80" in out
    assert "2 × sid 21562 MALWARE-CNC" in out


def test_alerts_without_flow_logs_still_draw(capsys, tmp_path) -> None:
    db = tmp_path / "dpictl.db"
    with AlertStore(db) as alerts:
        alerts.add(lab_alerts())
    code, out, _ = run(capsys, "graph", "--db", str(db), "-o", "json")
    assert code == 0 and len(_edges(out)) == 3
    code, out, _ = run(capsys, "graph", "--db", str(tmp_path / "empty.db"))
    assert code == 0 and "no flows or alerts" in out


def test_bad_output_is_one_line(capsys, lab_db) -> None:
    code, out, err = run(capsys, "graph", "--db", str(lab_db), "-o", "yaml")
    assert code != 0 and "unknown output 'yaml'" in err and "Traceback" not in err
    code, out, err = run(capsys, "graph", "--db", str(lab_db), "--image", "g.gif")
    assert code != 0 and out == "" and "cannot draw a graph as 'gif'" in err


@pytest.mark.skipif(shutil.which("dot") is None, reason="Graphviz is not installed")
def test_image_is_drawn_with_the_sids_on_it(capsys, lab_db, tmp_path) -> None:
    code, out, err = run(capsys, "graph", "--db", str(lab_db), "--image",
                         str(tmp_path / "g.svg"), "-o", "dot")
    assert code == 0 and "graph drawn to" in err
    svg = (tmp_path / "g.svg").read_text()
    assert svg.count("sid 21562") >= 3 and "blue/blue2" in svg
    assert out.startswith("digraph dpictl {")


class _FakeCluster:
    closed = False

    def __init__(self, kubeconfig=None, context=None, db=None) -> None:
        self.kubeconfig, self.context = kubeconfig, context

    def close(self) -> None:
        _FakeCluster.closed = True


def test_kubernetes_backend_reads_alert_events_and_the_agents_flow_configmaps(capsys,
                                                                              monkeypatch):
    import dpictl.backends.kubernetes as kube
    import dpictl.backends.kubernetes.flowlogs as kube_flowlogs
    import dpictl.cli.alerts as cli_alerts

    now = time.time()
    asked = {}

    def read_flowlogs(cluster, namespace):
        asked["flows_from"] = namespace
        stale = replace(lab_flows()[0], end_time=now - 7200, dest_port=8080)
        return [stale] + [replace(f, end_time=now) for f in lab_flows()]

    monkeypatch.setattr(kube, "KubernetesBackend", _FakeCluster)
    monkeypatch.setattr(kube_flowlogs, "read_flowlogs", read_flowlogs)
    monkeypatch.setattr(cli_alerts, "_cluster_alerts", lambda *a: [
        replace(x, time=now) for x in lab_alerts()])
    code, out, err = run(capsys, "graph", "--backend", "kubernetes", "-o", "json",
                         "--since", "1h", "-n", "blue", "--agent-namespace", "dpi")
    assert code == 0, err
    assert asked["flows_from"] == "dpi" and _FakeCluster.closed
    edges = _edges(out)
    assert set(edges) == {("red/red1", "blue/blue1"), ("blue/blue2", "red/red2"),
                          ("blue/blue2", "blue/blue1")}
    assert all(e["ports"] == ["tcp/80"] for e in edges.values())
