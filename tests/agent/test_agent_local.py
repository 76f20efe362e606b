"""The agent daemon end to end on the local netns cluster (root): pods, a DPI resource, real
curl requests, alerts in the store with the right endpoints and origin, status.nodes on the
resource, a pod added later, a pod deleted mid-capture, limits, clean stop. Netns `dagl<hex>-*`.
"""

from __future__ import annotations

import os
import secrets
import signal
import subprocess
import time
from pathlib import Path

import pytest

from dpictl.agent.daemon import (AgentPaths, agent_status, configure_agent, ensure_agent,
                                 stop_agent)
from dpictl.alerts.store import AlertStore
from dpictl.backends.local import LocalBackend, kernel

pytestmark = pytest.mark.root

DPI = {"apiVersion": "projectcalico.org/v3", "kind": "DeepPacketInspection",
       "metadata": {"name": "red-dpi-all", "namespace": "red"}, "spec": {"selector": "all()"}}
IDS = {"apiVersion": "operator.tigera.io/v1", "kind": "IntrusionDetection",
       "metadata": {"name": "tigera-secure"},
       "spec": {"componentResources": [{"componentName": "DeepPacketInspection",
                                        "resourceRequirements": {"limits": {
                                            "cpu": "1", "memory": "1Gi"}}}]}}
CURL = ["curl", "-s", "-m", "5", "-H", "User-Agent: Mozilla/4.0", "-XPOST",
        "--data-raw", "smk=1234"]


def wait_for(cond, timeout=15.0, step=0.05):
    deadline = time.monotonic() + timeout
    while time.monotonic() < deadline:
        value = cond()
        if value:
            return value
        time.sleep(step)
    return cond()


def _root_links() -> set[str]:
    out = subprocess.run(["ip", "-o", "link", "show"], capture_output=True, text=True).stdout
    return {line.split(":")[1].strip().split("@")[0] for line in out.splitlines()}


@pytest.fixture(scope="module")
def lab(tmp_path_factory):
    db = tmp_path_factory.mktemp("dagl") / "state.db"
    links_before = _root_links()
    backend = LocalBackend(db, cluster_id="dagl" + secrets.token_hex(3))
    try:
        for ns in ("red", "blue"):
            backend.create_namespace(ns)
        for ns, pod in (("red", "red1"), ("red", "red2"), ("blue", "blue1")):
            backend.run_pod(ns, pod, "wbitt/network-multitool", {"app": pod})
        backend.apply(IDS)
        backend.apply(DPI)
        configure_agent(db, [])
        ensure_agent(db)
        yield backend, db
    finally:
        stopped = stop_agent(db)
        backend.down()
        backend.close()
        assert stopped, "the agent was not running at the end"
        # Other engineers' tests create netns and links meanwhile: compare ours only.
        prefix = backend.cluster_id + "-"
        assert [n for n in kernel.list_netns() if n.startswith(prefix)] == []
        assert {n for n in _root_links() - links_before if n.startswith(("cali", "dagl"))} \
            == set()


def ip_of(backend, ns, pod):
    return next(ep.ip for ep in backend.endpoints() if (ep.namespace, ep.name) == (ns, pod))


def alerts_since(db, since):
    with AlertStore(db) as store:
        return store.query(since=since)


def monitored(db) -> set[str]:
    return {m["endpoint"] for m in agent_status(db).get("monitors") or []}


def curl(backend, src, dst):
    ns, pod = src
    result = backend.exec(ns, pod, CURL + [f"http://{ip_of(backend, *dst)}:80"], timeout=10)
    assert result.returncode == 0, result.stderr


def test_status_nodes_written_on_the_resource(lab):
    backend, db = lab
    node = wait_for(lambda: next(iter((backend.get("DeepPacketInspection", "red", "red-dpi-all")
                                       [0].get("status") or {}).get("nodes") or []), None))
    assert node["node"] == backend.node_name
    assert node["active"]["success"] is True
    assert node["active"]["lastUpdated"].endswith("Z")


def test_red_to_red_alerts_on_both_endpoints(lab):
    backend, db = lab
    assert wait_for(lambda: {"red/red1", "red/red2"} <= monitored(db))
    since = time.time()
    curl(backend, ("red", "red1"), ("red", "red2"))
    alerts = wait_for(lambda: len(alerts_since(db, since)) >= 2 and alerts_since(db, since))
    time.sleep(0.5)
    alerts = alerts_since(db, since)
    assert sorted(a.endpoint.name for a in alerts) == ["red1", "red2"]
    for a in alerts:
        assert a.sid == 1000001
        assert a.origin == "dpi.red/red-dpi-all"
        assert a.host == backend.node_name
        assert (a.source_name, a.source_namespace) == ("red1", "red")
        assert (a.dest_name, a.dest_namespace) == ("red2", "red")
        assert a.dest_port == 80 and a.endpoint.interface.startswith("cali")
    roles = {a.endpoint.name: a.endpoint.role for a in alerts}
    assert roles == {"red1": "source", "red2": "destination"}


def ensure_pod(backend, ns, name):
    if not any((ep.namespace, ep.name) == (ns, name) for ep in backend.endpoints()):
        backend.run_pod(ns, name, "wbitt/network-multitool", {"app": name})


def test_uninspected_traffic_gives_nothing(lab):
    backend, db = lab
    ensure_pod(backend, "blue", "blue2")
    since = time.time()
    curl(backend, ("blue", "blue2"), ("blue", "blue1"))
    time.sleep(1.5)
    assert alerts_since(db, since) == []


def test_pod_added_later_is_inspected(lab):
    backend, db = lab
    ensure_pod(backend, "red", "red3")
    assert wait_for(lambda: "red/red3" in monitored(db))
    since = time.time()
    curl(backend, ("blue", "blue1"), ("red", "red3"))
    alerts = wait_for(lambda: alerts_since(db, since))
    assert [(a.endpoint.name, a.source_name, a.dest_name) for a in alerts] == [
        ("red3", "blue1", "red3")]


def test_pod_deleted_mid_capture_does_not_stop_the_agent(lab):
    backend, db = lab
    ensure_pod(backend, "red", "red3")
    assert wait_for(lambda: "red/red3" in monitored(db))
    pid = agent_status(db)["pid"]
    backend.delete("Pod", ["red2"], namespace="red")
    assert wait_for(lambda: "red/red2" not in monitored(db))
    since = time.time()
    curl(backend, ("red", "red1"), ("red", "red3"))
    alerts = wait_for(lambda: len(alerts_since(db, since)) >= 2 and alerts_since(db, since))
    assert sorted(a.endpoint.name for a in alerts) == ["red1", "red3"]
    assert agent_status(db)["pid"] == pid
    # a pod that went away is not an error of the resource
    node = backend.get("DeepPacketInspection", "red", "red-dpi-all")[0]["status"]["nodes"][0]
    assert node["active"]["success"] is True and not node.get("errorConditions")


def test_limits_from_intrusion_detection_are_applied_and_reported(lab):
    backend, db = lab
    status = wait_for(lambda: (agent_status(db).get("limits") or {}).get("cpu") and
                      agent_status(db))
    limits = status["limits"]
    assert "1 CPU" in limits["cpu"] and "1Gi" in limits["memory"]
    pid = status["pid"]
    if limits["cgroups"]:
        cgroup = Path(f"/proc/{pid}/cgroup").read_text()
        assert AgentPaths.for_db(db).cgroup_name in cgroup


def test_sighup_reconfigures_without_restart(lab):
    backend, db = lab
    pid = agent_status(db)["pid"]
    rules = db.with_name("one.rules")
    rules.write_text('alert tcp any any -> any 80 (msg:"x"; content:"smk="; sid:9100003;)\n')
    configure_agent(db, [rules])
    assert ensure_agent(db) == pid
    status = wait_for(lambda: (agent_status(db).get("rules") or {}).get("paths") == [str(rules)]
                      and agent_status(db))
    assert status["pid"] == pid and status["rules"]["loaded"] == 1
    configure_agent(db, [])
    os.kill(pid, signal.SIGHUP)
    assert wait_for(lambda: (agent_status(db).get("rules") or {}).get("paths") == ["builtin"])
