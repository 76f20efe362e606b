"""Issue 10's goal on the local cluster: after `dpictl run-lab --keep`, `dpictl flows list -o
json` holds all four lab requests - blue2 -> blue1 too, which no DeepPacketInspection
selects - with both reporters, real byte counts, and the flush interval the lab set (30 s).
Netns are named `flowlogs<hex>-*`; `lab down` afterwards leaves nothing."""

from __future__ import annotations

import json
import secrets
import subprocess
import sys

import pytest

from dpictl.flowlogs.kernel_counters import nft_available
from lab.test_run_lab_local import Lab

pytestmark = [pytest.mark.root,
              pytest.mark.skipif(not nft_available(), reason="needs nft (nftables)")]

REQUESTS = {("red", "red1", "red", "red2"), ("red", "red1", "blue", "blue1"),
            ("blue", "blue2", "red", "red2"), ("blue", "blue2", "blue", "blue1")}


def test_flows_list_holds_the_four_lab_requests_after_run_lab_keep(tmp_path):
    lab = Lab(tmp_path)
    lab.cluster = "flowlogs" + secrets.token_hex(3)
    lab.env["DPICTL_CLUSTER_ID"] = lab.cluster
    try:
        run = lab.run("--keep")
        assert run.returncode == 0, run.stdout + run.stderr
        listed = subprocess.run([sys.executable, "-m", "dpictl", "flows", "list", "-o", "json"],
                                env=lab.env, capture_output=True, text=True, timeout=60)
        assert listed.returncode == 0, listed.stderr
        records = json.loads(listed.stdout)
    finally:
        lab.cleanup()
    lab.assert_nothing_left()
    pairs = {(r["source_namespace"], r["source_name"], r["dest_namespace"], r["dest_name"])
             for r in records}
    assert pairs == REQUESTS
    for pair in REQUESTS:
        mine = [r for r in records if (r["source_namespace"], r["source_name"],
                                       r["dest_namespace"], r["dest_name"]) == pair]
        by = {r["reporter"]: r for r in mine}
        assert set(by) == {"src", "dst"}, pair          # both pods are on the one node
        src, dst = by["src"], by["dst"]
        assert (src["dest_port"], src["proto"], src["action"]) == (80, "tcp", "allow")
        assert src["num_flows"] == 1
        # the POST went out of the source and into the destination: the same bytes
        assert src["bytes_out"] == dst["bytes_in"] > 200
        assert src["packets_out"] == dst["packets_in"] >= 4
        assert src["bytes_in"] == dst["bytes_out"] > 100          # the HTTP response
        assert f"app={pair[3]}" in src["dest_labels"]["labels"]
        assert src["end_time"] - src["start_time"] <= 31          # the lab's 30 s interval
