"""The local netns cluster for real (root): layout, traffic through the node, exec, CLI,
repair, namespace deletion and `down` after a crash. Every netns is named `dlb<hex>-...`.

One cluster of four pods (the lab's red1, red2, blue1, blue2) is shared by the module to
keep it fast; tests that destroy things use their own namespaces or their own cluster.
"""

from __future__ import annotations

import os
import secrets
import subprocess
import sys
import time
from pathlib import Path

import pytest

from dpictl.backends.local import LocalBackend, kernel
from dpictl.backends.local.naming import host_interface_name
from dpictl.backends.local.processes import is_pod_server
from dpictl.errors import NotFound
from dpictl.resources.labels import dpi_selector

pytestmark = pytest.mark.root

LAB_PODS = [("red", "red1"), ("red", "red2"), ("blue", "blue1"), ("blue", "blue2")]
DPI = {"apiVersion": "projectcalico.org/v3", "kind": "DeepPacketInspection",
       "metadata": {"name": "red-dpi-all", "namespace": "red"}, "spec": {"selector": "all()"}}


def _cluster_id() -> str:
    return "dlb" + secrets.token_hex(4)


def _ours(prefix: str) -> list[str]:
    return [n for n in kernel.list_netns() if n.startswith(prefix)]


def _root_links() -> set[str]:
    out = subprocess.run(["ip", "-o", "link", "show"], capture_output=True, text=True).stdout
    return {line.split(":")[1].strip().split("@")[0] for line in out.splitlines()}


@pytest.fixture(scope="module")
def cluster(tmp_path_factory: pytest.TempPathFactory):
    db = tmp_path_factory.mktemp("dlb") / "state.db"
    links_before = _root_links()
    backend = LocalBackend(db, cluster_id=_cluster_id())
    prefix = backend.cluster_id + "-"
    try:
        started = time.monotonic()
        for ns in ("red", "blue"):
            backend.create_namespace(ns)
        for ns, pod in LAB_PODS:
            backend.run_pod(ns, pod, "wbitt/network-multitool", {"app": pod})
        print(f"\n4 lab pods created in {time.monotonic() - started:.2f}s")
        backend.apply(DPI)
        yield backend
    finally:
        lines = backend.down()
        assert _ours(prefix) == [], lines
        assert not (backend.run_dir).exists()
        # Nothing leaked into the root netns: every link we make lives in our netns.
        assert not {n for n in _root_links() - links_before if n.startswith(("cali", "dlb"))}


def _ip(backend: LocalBackend, ns: str, pod: str) -> str:
    return backend.get("pod", ns, pod)[0]["status"]["podIP"]


def _sysctl(netns: str, key: str) -> str:
    return kernel.run_in_netns(netns, lambda: Path("/proc/sys", key).read_text().strip())


def _routes(netns: str) -> dict[str, str | None]:
    def read(ipr):
        return {f"{r.get_attr('RTA_DST') or '0.0.0.0'}/{r['dst_len']}": r.get_attr("RTA_GATEWAY")
                for r in ipr.get_routes(family=2, table=254)}
    return kernel.in_netns(netns, read)


def test_netns_and_calico_interfaces(cluster: LocalBackend) -> None:
    node = cluster.node_netns
    assert node == f"{cluster.cluster_id}-node" and kernel.netns_exists(node)
    assert _sysctl(node, "net/ipv4/ip_forward") == "1"
    for ns, pod in LAB_PODS:
        assert kernel.netns_exists(f"{cluster.cluster_id}-{ns}-{pod}")
        cali = host_interface_name(ns, pod)
        assert kernel.link_exists(node, cali)
        assert _sysctl(node, f"net/ipv4/conf/{cali}/proxy_arp") == "1"
    assert kernel.link_exists(node, "cali08ce55c424a")      # red/red1, as Calico names it


def test_pod_addresses_and_routes(cluster: LocalBackend) -> None:
    ip = _ip(cluster, "red", "red1")
    assert ip.startswith("10.244.")
    pod_ns = f"{cluster.cluster_id}-red-red1"

    def eth0(ipr):
        index = ipr.link_lookup(ifname="eth0")[0]
        return [(a.get_attr("IFA_ADDRESS"), a["prefixlen"]) for a in ipr.get_addr(index=index)]
    assert kernel.in_netns(pod_ns, eth0) == [(ip, 32)]
    routes = _routes(pod_ns)
    assert routes["0.0.0.0/0"] == "169.254.1.1"
    assert "169.254.1.1/32" in routes
    assert f"{ip}/32" in _routes(cluster.node_netns)


def test_pod_to_pod_http_crosses_both_cali_interfaces(cluster: LocalBackend) -> None:
    node, red1, red2 = cluster.node_netns, host_interface_name("red", "red1"), \
        host_interface_name("red", "red2")
    before = {i: kernel.link_stats(node, i) for i in (red1, red2)}
    result = cluster.exec("red", "red1", [
        "curl", "-s", "-m", "5", "-o", "/dev/null", "-w", "%{http_code}",
        f"http://{_ip(cluster, 'red', 'red2')}:80", "-H", "User-Agent: Mozilla/4.0",
        "-XPOST", "--data-raw", "smk=1234"])
    assert (result.returncode, result.stdout) == (0, b"200")
    after = {i: kernel.link_stats(node, i) for i in (red1, red2)}
    # red1 -> node: arrives on red1's cali (rx); node -> red2: leaves on red2's cali (tx).
    assert after[red1]["rx_packets"] - before[red1]["rx_packets"] >= 4
    assert after[red2]["tx_packets"] - before[red2]["tx_packets"] >= 4
    assert after[red1]["tx_packets"] > before[red1]["tx_packets"]    # and the answers back
    assert after[red2]["rx_packets"] > before[red2]["rx_packets"]


def test_proxy_arp_answers_for_the_gateway_as_on_a_calico_node(cluster: LocalBackend) -> None:
    cluster.create_namespace("dlbarp")
    cluster.run_pod("dlbarp", "a1", "img", {})
    netns = cluster.state.pod("dlbarp", "a1").netns

    def drop_static_gateway_entry(ipr):
        ipr.neigh("del", dst="169.254.1.1", lladdr="ee:ee:ee:ee:ee:ee",
                  ifindex=ipr.link_lookup(ifname="eth0")[0])
    kernel.in_netns(netns, drop_static_gateway_entry)
    try:
        r = cluster.exec("dlbarp", "a1", ["curl", "-s", "-m", "5", "-o", "/dev/null", "-w",
                                          "%{http_code}", f"http://{_ip(cluster, 'red', 'red2')}/"])
        assert r.stdout == b"200"
        neigh = cluster.exec("dlbarp", "a1", ["ip", "neigh", "show", "169.254.1.1"]).stdout
        assert b"ee:ee:ee:ee:ee:ee" in neigh             # learnt from the cali's proxy ARP
    finally:
        cluster.delete("ns", ["dlbarp"])


def test_blue_traffic_stays_off_red_interfaces(cluster: LocalBackend) -> None:
    node, red1 = cluster.node_netns, host_interface_name("red", "red1")
    before = kernel.link_stats(node, red1)
    result = cluster.exec("blue", "blue2", ["curl", "-s", "-m", "5", "-o", "/dev/null",
                                            f"http://{_ip(cluster, 'blue', 'blue1')}/"])
    assert result.returncode == 0
    assert kernel.link_stats(node, red1)["rx_packets"] == before["rx_packets"]


@pytest.mark.parametrize("method", ["GET", "PUT", "DELETE", "PATCH", "OPTIONS", "BREW"])
def test_pod_server_answers_any_method(cluster: LocalBackend, method: str) -> None:
    result = cluster.exec("blue", "blue1", [
        "curl", "-s", "-m", "5", "-o", "/dev/null", "-w", "%{http_code}", "-X", method,
        "--data-raw", "x=1", f"http://{_ip(cluster, 'red', 'red2')}/any/path"])
    assert result.stdout == b"200"


def test_exec_exit_codes_streams_stdin_and_timeout(cluster: LocalBackend) -> None:
    r = cluster.exec("red", "red1", ["sh", "-c", "echo out; echo err >&2; exit 7"])
    assert (r.stdout, r.stderr, r.returncode) == (b"out\n", b"err\n", 7)
    assert cluster.exec("red", "red1", ["cat"], stdin=b"hello").stdout == b"hello"
    assert cluster.exec("red", "red1", ["no-such-command-dlb"]).returncode == 127
    r = cluster.exec("red", "red1", ["sleep", "5"], timeout=0.3)
    assert r.returncode == 124 and b"timed out" in r.stderr
    with pytest.raises(NotFound):
        cluster.exec("red", "nope", ["true"])


def test_endpoints_carry_implicit_labels_and_dpi_selects_red(cluster: LocalBackend) -> None:
    eps = {(e.namespace, e.name): e for e in cluster.endpoints()}
    assert set(eps) == set(LAB_PODS)
    red1 = eps[("red", "red1")]
    assert red1.interface == "cali08ce55c424a" and red1.node == cluster.node_name
    assert red1.labels["projectcalico.org/namespace"] == "red"
    assert red1.labels["app"] == "red1"
    selected = {e.name for e in eps.values() if dpi_selector(DPI).matches(e.labels)}
    assert selected == {"red1", "red2"}
    assert cluster.endpoints(node="some-other-node") == []


def test_wait_pods_running_reports_progress(cluster: LocalBackend) -> None:
    seen = []
    cluster.wait_pods_running("red", ["red1", "red2"], timeout=5,
                              progress=lambda d, t, m: seen.append((d, t)))
    assert seen == [(1, 2), (2, 2)]
    with pytest.raises(NotFound):
        cluster.wait_pods_running("red", ["ghost"], timeout=0.2)


def _cli(cluster: LocalBackend, *args: str, stdin: str | None = None):
    env = {**os.environ, "DPICTL_DB": str(cluster.db_path), "DPICTL_AGENT_AUTOSTART": "0"}
    env.pop("DPICTL_CLUSTER_ID", None)
    return subprocess.run([sys.executable, "-m", "dpictl", *args], input=stdin, env=env,
                          capture_output=True, text=True, timeout=60)


def test_cli_lab_commands(cluster: LocalBackend) -> None:
    out = _cli(cluster, "get", "deeppacketinspection", "-n", "red")
    lines = out.stdout.splitlines()
    assert lines[0].split() == ["NAME", "CREATED", "AT"] and lines[0].index("CREATED") == 14
    assert lines[1].startswith("red-dpi-all   20") and lines[1].endswith("Z")
    ip = _cli(cluster, "get", "pod", "-n", "red", "red2", "-o", "jsonpath={.status.podIP}")
    assert ip.stdout == _ip(cluster, "red", "red2")          # no newline, like kubectl
    wide = _cli(cluster, "get", "pods", "-A", "-owide").stdout.splitlines()
    assert wide[0].split()[:8] == ["NAMESPACE", "NAME", "READY", "STATUS", "RESTARTS", "AGE",
                                   "IP", "NODE"]
    assert sum(" 1/1 " in line and "Running" in line for line in wide) == 4
    run = _cli(cluster, "exec", "-it", "-n", "red", "red1", "--", "sh", "-c",
               f"curl -s http://{ip.stdout}:80 -H 'User-Agent: Mozilla/4.0' -XPOST "
               "--data-raw 'smk=1234'; exit 3")
    assert run.returncode == 3 and "dpictl pod" in run.stdout
    assert "command terminated with exit code 3" in run.stderr


def test_repair_after_server_and_netns_vanish(cluster: LocalBackend) -> None:
    cluster.create_namespace("dlbfix")
    cluster.run_pod("dlbfix", "p1", "img", {})
    pod = cluster.state.pod("dlbfix", "p1")
    os.kill(pod.pid, 9)
    deadline = time.monotonic() + 5
    while is_pod_server(pod.pid) and time.monotonic() < deadline:    # SIGKILL is async
        time.sleep(0.01)
    fresh = LocalBackend(cluster.db_path)            # a later command sees the damage
    fresh.get("pods", "dlbfix")
    assert fresh.repaired and "not running" in fresh.repaired[0]
    repaired = fresh.state.pod("dlbfix", "p1")
    assert repaired.pid != pod.pid and is_pod_server(repaired.pid)
    kernel.remove_netns(repaired.netns)
    again = LocalBackend(cluster.db_path)
    r = again.exec("red", "red1", ["curl", "-s", "-m", "5", "-o", "/dev/null", "-w",
                                   "%{http_code}", f"http://{repaired.ip}/"])
    assert r.stdout == b"200" and "netns" in again.repaired[0]
    again.delete("ns", ["dlbfix"])


def test_delete_namespace_removes_pods_resources_and_kernel_objects(
        cluster: LocalBackend) -> None:
    cluster.create_namespace("dlbgone")
    cluster.run_pod("dlbgone", "g1", "img", {"app": "g1"})
    cluster.apply({**DPI, "metadata": {"name": "g", "namespace": "dlbgone"}})
    pod = cluster.state.pod("dlbgone", "g1")
    assert cluster.delete("namespace", ["dlbgone"]) == ["dlbgone"]
    assert not kernel.netns_exists(pod.netns)
    assert not kernel.link_exists(cluster.node_netns, pod.interface)
    assert not is_pod_server(pod.pid)
    assert cluster.get("dpi", "dlbgone") == [] and cluster.state.pod("dlbgone", "g1") is None
    assert {(e.namespace, e.name) for e in cluster.endpoints()} >= set(LAB_PODS)
    assert not [e for e in cluster.endpoints() if e.namespace == "dlbgone"]


def test_down_after_crash_removes_leftovers(tmp_path: Path) -> None:
    db = tmp_path / "crash.db"
    cid = _cluster_id()
    backend = LocalBackend(db, cluster_id=cid)
    backend.create_namespace("red")
    backend.run_pod("red", "red1", "img", {})
    pid = backend.state.pod("red", "red1").pid
    backend.close()
    for suffix in ("", "-wal", "-shm"):                  # the state is lost, the kernel not
        Path(f"{db}{suffix}").unlink(missing_ok=True)
    assert _ours(cid + "-") == [f"{cid}-node", f"{cid}-red-red1"]
    lines = LocalBackend(db, cluster_id=cid).down()
    assert f"removed netns {cid}-red-red1" in lines and f"removed netns {cid}-node" in lines
    assert any(f"stopped process {pid}" in line for line in lines)
    assert _ours(cid + "-") == [] and not is_pod_server(pid)
    assert LocalBackend(db, cluster_id=cid).down() == []      # idempotent


def test_down_stops_a_pod_server_whose_netns_is_already_gone(tmp_path: Path) -> None:
    """Ctrl-C between spawning a pod's server and recording it: no state row, and once the
    netns is deleted no netns scan finds the process. `down` must still stop it."""
    from dpictl.backends.local import processes

    cid = _cluster_id()
    netns = f"{cid}-red-orphan"
    kernel.create_pod_netns(netns)
    server = processes.start_pod_server(netns, tmp_path / "orphan.log",
                                        processes.PodProcess("orphan"), port=8080)
    pid = processes.wait_ready(server, time.monotonic() + 20)
    kernel.remove_netns(netns)                          # the process keeps its netns alive
    assert processes.pod_servers_labelled(cid + "-") == [pid]
    lines = LocalBackend(tmp_path / "o.db", cluster_id=cid).down()
    assert f"stopped orphaned pod server {pid}" in lines
    assert not is_pod_server(pid)
    deadline = time.monotonic() + 5             # its launcher ends once its only child did
    while is_pod_server(server.pid) and time.monotonic() < deadline:
        time.sleep(0.05)
    assert not is_pod_server(server.pid)
    assert processes.pod_servers_labelled(cid + "-") == []


def test_apply_namespace_and_pod_manifests(cluster: LocalBackend) -> None:
    ns = {"apiVersion": "v1", "kind": "Namespace", "metadata": {"name": "dlbapply"}}
    pod = {"apiVersion": "v1", "kind": "Pod",
           "metadata": {"name": "web", "namespace": "dlbapply", "labels": {"app": "web"}},
           "spec": {"containers": [{"name": "web", "image": "nginx"}]}}
    assert cluster.apply(ns)[1] == "created" and cluster.apply(ns)[1] == "unchanged"
    obj, outcome = cluster.apply(pod)
    assert outcome == "created" and obj["status"]["phase"] == "Running"
    assert kernel.netns_exists(f"{cluster.cluster_id}-dlbapply-web")
    assert cluster.apply(pod)[1] == "unchanged"
    relabelled = {**pod, "metadata": {**pod["metadata"], "labels": {"app": "web2"}}}
    assert cluster.apply(relabelled)[1] == "configured"
    ep = next(e for e in cluster.endpoints() if e.namespace == "dlbapply")
    assert ep.labels["app"] == "web2"
    cluster.delete("ns", ["dlbapply"])
    assert not kernel.netns_exists(f"{cluster.cluster_id}-dlbapply-web")


def test_pod_left_half_created_by_a_crash_can_be_created_again(cluster: LocalBackend) -> None:
    from dpictl.backends.local import naming

    netns = naming.pod_netns_name(cluster.cluster_id, "red", "orphan")
    cluster.state.reserve_pod("red", "orphan", netns, host_interface_name("red", "orphan"))
    with pytest.raises(Exception, match="already exists"):       # still being created
        cluster.run_pod("red", "orphan", "img", {})
    with cluster.state.transaction() as db:                       # ... by a process long gone
        db.execute("UPDATE cluster_pods SET created = created - 3600 WHERE name='orphan'")
    obj = cluster.run_pod("red", "orphan", "img", {})
    assert obj["status"]["phase"] == "Running" and kernel.netns_exists(netns)
    cluster.delete("pod", ["orphan"], namespace="red")
    assert not kernel.netns_exists(netns)
