"""Flow logs on Kubernetes: each agent's node ConfigMap, bounded, read back across nodes by
`dpictl flows list --backend kubernetes` (real API server)."""

from __future__ import annotations

import base64
import gzip
import json
import subprocess
import sys

import pytest

from dpictl.agent.flow_logs import ConfigMapFlowSink
from dpictl.backends.kubernetes.flowlogs import (MAX_BYTES, MAX_RECORDS, flowlogs_configmap,
                                                 read_flowlogs)
from flowlogs.factories import make_flow


def test_the_configmap_keeps_the_newest_records_within_its_bound() -> None:
    many = [make_flow(end_time=float(i), source_labels={"n": str(i) * 40})
            for i in range(MAX_RECORDS + 500)]
    cm = flowlogs_configmap("agents", "node-a", many)
    raw = cm["binaryData"]["flows.json.gz"]
    assert len(raw) <= MAX_BYTES
    kept = json.loads(gzip.decompress(base64.b64decode(raw)))
    assert len(kept) == int(cm["metadata"]["annotations"]["dpictl.io/records"]) <= MAX_RECORDS
    assert kept[-1]["end_time"] == float(MAX_RECORDS + 499)       # the newest survive
    assert cm["metadata"]["name"] == "dpictl-flowlogs-node-a"


@pytest.mark.kube
def test_agents_publish_per_node_and_flows_list_reads_them_all(backend, make_ns,
                                                                kubeconfig) -> None:
    ns = make_ns("flows")
    a, b = ConfigMapFlowSink(backend, ns, "node-a"), ConfigMapFlowSink(backend, ns, "node-b")
    a.write([make_flow(end_time=10.0, host="node-a")])
    a.write([make_flow(end_time=20.0, host="node-a", reporter="dst")])   # republished whole
    b.write([make_flow(end_time=15.0, host="node-b", source_namespace="red",
                       source_name="red1")])
    records = read_flowlogs(backend, ns)
    assert [(r.host, r.end_time, r.reporter) for r in records] == \
        [("node-a", 10.0, "src"), ("node-b", 15.0, "src"), ("node-a", 20.0, "dst")]
    assert records[0] == make_flow(end_time=10.0, host="node-a")       # every field back

    cli = subprocess.run(
        [sys.executable, "-m", "dpictl", "flows", "list", "--backend", "kubernetes",
         "--kubeconfig", str(kubeconfig), "--agent-namespace", ns, "-n", "red", "-o", "json"],
        capture_output=True, text=True, timeout=60)
    assert cli.returncode == 0, cli.stderr
    assert [(r["host"], r["source_name"]) for r in json.loads(cli.stdout)] == \
        [("node-b", "red1")]


@pytest.mark.kube
def test_a_missing_agent_namespace_lists_nothing(backend) -> None:
    assert read_flowlogs(backend, "dk8-no-such-namespace") == []


@pytest.mark.kube
def test_a_restarted_agent_keeps_the_records_and_knows_what_it_reported(backend,
                                                                        make_ns) -> None:
    ns = make_ns("flows")
    first = ConfigMapFlowSink(backend, ns, "node-a")
    assert first.counted_before is None and not first.recent       # nothing published yet
    first.counting = [1234, 5]                  # the collector attached to that netns
    first.write([make_flow(end_time=10.0, host="node-a")])

    again = ConfigMapFlowSink(backend, ns, "node-a")                # the agent's next pod
    assert again.counted_before == [1234, 5]    # that netns's counts were reported
    again.counting = [1234, 5]
    again.write([make_flow(end_time=20.0, host="node-a")])
    assert [r.end_time for r in read_flowlogs(backend, ns)] == [10.0, 20.0]   # none lost
    assert ConfigMapFlowSink(backend, ns, "node-b").counted_before is None    # per node
