"""Issue 10's goal for the graph on the local cluster: after `dpictl run-lab --keep`, `dpictl
graph` draws all four lab requests - the three that alerted in red with their SID, blue2 ->
blue1 (which no DeepPacketInspection selects) plainly - and the picture's labels collide with
nothing. Netns are named `graph<hex>-*`; `lab down` afterwards leaves nothing."""

from __future__ import annotations

import json
import secrets
import shutil
import subprocess
import sys

import pytest

from dpictl.flowlogs.kernel_counters import nft_available
from lab.test_run_lab_local import Lab
from tests.graph.layout_geometry import curves_through_boxes, layout, overlapping_boxes

pytestmark = [pytest.mark.root,
              pytest.mark.skipif(not nft_available(), reason="needs nft (nftables)")]

ALERTS = {("red/red1", "red/red2"): 2, ("red/red1", "blue/blue1"): 1,
          ("blue/blue2", "red/red2"): 1, ("blue/blue2", "blue/blue1"): 0}


def test_graph_draws_the_four_lab_requests_after_run_lab_keep(tmp_path):
    lab = Lab(tmp_path)
    lab.cluster = "graph" + secrets.token_hex(3)
    lab.env["DPICTL_CLUSTER_ID"] = lab.cluster

    def graph(*args: str) -> str:
        proc = subprocess.run([sys.executable, "-m", "dpictl", "graph", *args], env=lab.env,
                              capture_output=True, text=True, timeout=60)
        assert proc.returncode == 0, proc.stderr
        return proc.stdout

    try:
        run = lab.run("--keep")
        assert run.returncode == 0, run.stdout + run.stderr
        doc, dot = json.loads(graph("-o", "json")), graph("-o", "dot")
    finally:
        lab.cleanup()
    lab.assert_nothing_left()
    edges = {(e["source"], e["dest"]): e for e in doc["edges"]}
    assert {pair: e["alerts"] for pair, e in edges.items()} == ALERTS, doc
    for pair, edge in edges.items():
        assert edge["flows"] == 1 and edge["ports"] == ["tcp/80"], pair
        assert edge["bytes_forward"] > 200 and edge["bytes_back"] > 100, pair   # POST, reply
        assert [s["sid"] for s in edge["signatures"]] == ([1000001] if ALERTS[pair] else [])
    if shutil.which("dot"):
        lay = layout(dot)
        assert overlapping_boxes(lay) == [] and curves_through_boxes(lay) == []
