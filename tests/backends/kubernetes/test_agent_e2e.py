"""The whole lab through the Kubernetes path: real API server, real packets, real agent.

The test API server has no nodes, so the pods' network lives in a local netns "cluster"
(LocalBackend, laid out as Calico lays out a node) and the test plays kubelet: every API pod
is bound to a node and given the IP of its local twin. `dpictl agent run --backend
kubernetes` then watches the API, captures on the twins' cali* veths inside the node netns,
and writes DPIAlert Events; `dpictl alerts list --backend kubernetes` reads them back.
Expected, as in the workshop: red1->red2 2 alerts, red1->blue1 1, blue2->red2 1, blue2->blue1 0.
"""

from __future__ import annotations

import json
import os
import signal
import subprocess
import sys
import time
from collections import Counter

import pytest

from dpictl.backends.kubernetes import KubernetesBackend, agent_manifests
from dpictl.backends.kubernetes.events import list_alerts
from dpictl.backends.kubernetes.watch_cache import wait_until

from .conftest import patch_pod_running, purge_namespace, unique

pytestmark = [pytest.mark.kube, pytest.mark.root]

NODE = "dk8-e2e-node"
CURL = ["curl", "-s", "-m", "5", "-H", "User-Agent: Mozilla/4.0", "-XPOST",
        "--data-raw", "smk=1234"]
BUILTIN_SID = 1000001


def _node_status(backend: KubernetesBackend, ns: str) -> dict | None:
    dpi = backend.get("DeepPacketInspection", ns, "red-dpi-all")[0]
    for entry in (dpi.get("status") or {}).get("nodes") or []:
        if entry.get("node") == NODE:
            return entry
    return None


def test_lab_alerts_become_events_and_read_back(clean_crds, kubeconfig, local_cluster,
                                                tmp_path, request) -> None:
    backend = clean_crds
    red, blue = unique("red"), unique("blue")
    pods = {red: ("red1", "red2"), blue: ("blue1", "blue2")}

    # The pods' network: a local netns cluster.
    for ns, names in pods.items():
        local_cluster.create_namespace(ns)
        for name in names:
            local_cluster.run_pod(ns, name, "wbitt/network-multitool", {"app": name})
        local_cluster.wait_pods_running(ns, names, timeout=30)
    ips = {(e.namespace, e.name): e.ip for e in local_cluster.endpoints()}

    # The same pods in the API server, "started" by us as a kubelet would.
    agent_manifests.install(backend, [d for d in agent_manifests.plan(backend)
                                      if d["kind"] == "CustomResourceDefinition"])
    api = KubernetesBackend(kubeconfig=kubeconfig)
    # the pods' IPs are reused by the next run's netns pods: leave none behind
    request.addfinalizer(lambda: [purge_namespace(api, ns) for ns in pods])
    for ns, names in pods.items():
        api.create_namespace(ns)
        for name in names:
            api.run_pod(ns, name, None, {"app": name})
            patch_pod_running(api, ns, name, ips[(ns, name)], node=NODE)
    api.apply({"apiVersion": "projectcalico.org/v3", "kind": "DeepPacketInspection",
               "metadata": {"name": "red-dpi-all", "namespace": red},
               "spec": {"selector": "all()"}})

    log = open(tmp_path / "agent.log", "w")
    agent = subprocess.Popen(
        [sys.executable, "-m", "dpictl", "agent", "run", "--backend", "kubernetes",
         "--kubeconfig", str(kubeconfig), "--node", NODE, "--netns", local_cluster.node_netns],
        stdout=subprocess.PIPE, stderr=log, text=True,
        env={**os.environ, "POD_NAMESPACE": red})      # where it publishes its flow logs
    try:
        def active() -> bool:
            entry = _node_status(api, red)
            return bool(entry and entry["active"]["success"])
        assert wait_until(active, 30, 0.2), (tmp_path / "agent.log").read_text()[-3000:]

        flows = [("red1", red, "red2", red), ("red1", red, "blue1", blue),
                 ("blue2", blue, "red2", red), ("blue2", blue, "blue1", blue)]
        for src, src_ns, dst, dst_ns in flows:
            out = local_cluster.exec(src_ns, src, CURL + [f"http://{ips[(dst_ns, dst)]}:80"])
            assert out.returncode == 0, out.stderr

        def ours() -> list:
            return [a for a in list_alerts(kubeconfig=kubeconfig)
                    if a.endpoint and a.endpoint.namespace in (red, blue)]
        assert wait_until(lambda: len(ours()) >= 4, 30, 0.5), \
            (tmp_path / "agent.log").read_text()[-3000:]
        time.sleep(2)                                   # and no fifth one trickles in
        alerts = ours()
        assert {a.sid for a in alerts} == {BUILTIN_SID}
        by_flow = Counter((a.source_name, a.dest_name) for a in alerts)
        assert by_flow == Counter({("red1", "red2"): 2, ("red1", "blue1"): 1,
                                   ("blue2", "red2"): 1})
        seen_on = sorted((a.source_name, a.dest_name, a.endpoint.name, a.endpoint.role)
                         for a in alerts)
        assert seen_on == [("blue2", "red2", "red2", "destination"),
                           ("red1", "blue1", "red1", "source"),
                           ("red1", "red2", "red1", "source"),
                           ("red1", "red2", "red2", "destination")]
        assert all(a.host == NODE and a.origin == f"dpi.{red}/red-dpi-all" for a in alerts)
        assert all(a.source_namespace and a.dest_namespace for a in alerts)

        # `alerts list --backend kubernetes` reads the same Events back.
        cli = subprocess.run(
            [sys.executable, "-m", "dpictl", "alerts", "list", "--backend", "kubernetes",
             "--kubeconfig", str(kubeconfig), "-n", blue, "-o", "json"],
            capture_output=True, text=True, timeout=60)
        assert cli.returncode == 0, cli.stderr
        records = json.loads(cli.stdout)
        assert sorted((r["source_name"], r["dest_name"]) for r in records) == \
            [("blue2", "red2"), ("red1", "blue1")]
        events = api.get("Event", namespace=red)
        assert {e["involvedObject"]["name"] for e in events if e["reason"] == "DPIAlert"} \
            == {"red1", "red2"}
    finally:
        agent.send_signal(signal.SIGTERM)
        try:
            stdout, _ = agent.communicate(timeout=20)
        except subprocess.TimeoutExpired:
            agent.kill()
            stdout, _ = agent.communicate()
        log.close()
    assert agent.returncode == 0, (tmp_path / "agent.log").read_text()[-3000:]
    eve = [json.loads(line) for line in stdout.splitlines() if line.startswith("{")]
    assert len([e for e in eve if e.get("event_type") == "alert"]) == 4
    entry = _node_status(api, red)
    assert entry is not None and entry["active"]["success"] is False   # stopped cleanly

    # The agent flushed its flow logs on the way out, into its node's ConfigMap: every pod
    # on the node, blue2 -> blue1 too (no DPI selects blue), both reporters (one node).
    cli = subprocess.run(
        [sys.executable, "-m", "dpictl", "flows", "list", "--backend", "kubernetes",
         "--kubeconfig", str(kubeconfig), "--agent-namespace", red, "-o", "json"],
        capture_output=True, text=True, timeout=60)
    assert cli.returncode == 0, cli.stderr
    records = json.loads(cli.stdout)
    assert {(r["source_name"], r["dest_name"], r["reporter"]) for r in records} == \
        {(s, d, rep) for s, _, d, _ in flows for rep in ("src", "dst")}
    assert all(r["host"] == NODE and r["dest_port"] == 80 and r["bytes_out"] > 0
               for r in records)
