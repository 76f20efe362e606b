"""`run-lab` on the kubernetes backend: the lab runner, unchanged, against the real API server.

A simulated node (tests/backends/kubernetes/node_sim.py) runs the API's pods as netns pods;
dpictl's agent is installed with `agent install` and runs as `dpictl agent run` on that node.
The cluster looks like open-source Calico: FelixConfiguration is served, DeepPacketInspection
is not, so the lab's projectcalico.org/v3 resource lands in dpictl's own CRD.
"""

from __future__ import annotations

import signal
import subprocess
import sys
from pathlib import Path

import pytest

from dpictl.backends.kubernetes import KubernetesBackend, agent_manifests
from dpictl.backends.kubernetes.agent_manifests import AgentOptions
from dpictl.lab.builders import kubernetes_lab
from dpictl.errors import ClusterError, UsageError

from .conftest import install_crds, unique
from .node_sim import NodeBackedBackend, SimulatedNode

SCENARIO = Path(__file__).resolve().parents[3] / "scenarios" / "red-blue.yaml"
NODE = "dk8-lab-node"


@pytest.mark.kube
def test_without_an_agent_the_lab_says_how_to_get_one(clean_crds, kubeconfig) -> None:
    env = kubernetes_lab(KubernetesBackend(kubeconfig=kubeconfig))
    with pytest.raises(ClusterError) as err:
        env.inspection.start([])
    assert "dpictl agent install" in err.value.hint
    assert env.inspection.status()["running"] is False


@pytest.mark.kube
def test_custom_rules_are_refused_up_front(clean_crds, kubeconfig) -> None:
    ns = unique("sys")
    agent_manifests.install(clean_crds, agent_manifests.plan(clean_crds, AgentOptions(ns)))
    env = kubernetes_lab(KubernetesBackend(kubeconfig=kubeconfig))
    with pytest.raises(UsageError, match="--rules"):
        env.inspection.start([Path("/x.rules")])
    agent_manifests.uninstall(clean_crds, agent_manifests.all_manifests(AgentOptions(ns)))


@pytest.mark.kube
@pytest.mark.root
def test_run_lab_red_blue_passes_on_kubernetes(clean_crds, kubeconfig, local_cluster,
                                               tmp_path) -> None:
    from dpictl.lab.scenario_file import load_scenario
    from dpictl.lab.runner import run_scenario

    api = clean_crds
    node = SimulatedNode(api, local_cluster, NODE, {"red", "blue"})
    node.sync()                                 # finalize red/blue left by an earlier run
    install_crds(api, "calico-felixconfigurations.crd.yaml")     # open-source Calico
    sys_ns = unique("sys")
    opts = AgentOptions(namespace=sys_ns, image="dk8/agent:test")
    agent_manifests.install(api, agent_manifests.plan(KubernetesBackend(kubeconfig=kubeconfig),
                                                      opts))
    # the DaemonSet's one pod is the process below, so report it ready as its controller would
    api.objects.patch(api.ref("DaemonSet"), "dpictl-agent",
                      {"status": {"desiredNumberScheduled": 1, "numberReady": 1,
                                  "currentNumberScheduled": 1, "numberMisscheduled": 0}},
                      sys_ns, subresource="status")
    log = open(tmp_path / "agent.log", "w")
    agent = subprocess.Popen(
        [sys.executable, "-m", "dpictl", "agent", "run", "--backend", "kubernetes", "--no-eve",
         "--kubeconfig", str(kubeconfig), "--node", NODE, "--netns", local_cluster.node_netns],
        stdout=subprocess.DEVNULL, stderr=log)
    node.start()
    env = kubernetes_lab(NodeBackedBackend(kubeconfig=kubeconfig, local=local_cluster))
    try:
        report = run_scenario(load_scenario(SCENARIO), env, timeout=40)
    finally:
        agent.send_signal(signal.SIGTERM)
        agent.wait(20)
        log.close()
        node.sync()                              # finish the namespaces the lab deleted
        node.stop()
        agent_manifests.uninstall(api, agent_manifests.all_manifests(opts))
    detail = "\n".join(report.failures()) + (tmp_path / "agent.log").read_text()[-2000:]
    assert report.passed, detail
    assert report.backend == "kubernetes"
    assert [t.name for t in report.traffic] == ["red1->red2", "red1->blue1", "blue2->red2",
                                                 "blue2->blue1"]
    assert len(report.alerts) == 4 and {a.sid for a in report.alerts} == {1000001}
    assert env.inspection.status()["provider"] == "dpictl"
    assert not node.errors, node.errors
    assert agent.returncode == 0
