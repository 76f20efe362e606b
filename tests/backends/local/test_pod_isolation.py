"""Pods are isolated from the host (issue 8.4), shown from `exec` as a user would try it:
the host's processes are invisible, the host netns cannot be entered, writes outside the
pod's own tmpfs fail, the alert store cannot be reached, and the caller's environment does
not leak. A pod runs as root only when its manifest asks for it, and is still confined.

The state file lives in a directory outside /tmp (beside the project) so that the mask over
it is what hides it, not the pod's private /tmp.
"""

from __future__ import annotations

import os
import secrets
import shutil
import sys
from pathlib import Path

import pytest

from dpictl.alerts.store import AlertStore
from dpictl.backends.local import LocalBackend
from dpictl.backends.local.isolation import POD_UID

from alerts.factories import make_alert

pytestmark = pytest.mark.root

ROOT = Path(__file__).resolve().parents[3]
SECRET = "DPICTL_TEST_SECRET"


@pytest.fixture(scope="module")
def cluster():
    state = ROOT / f".test-state-{secrets.token_hex(4)}"
    state.mkdir(mode=0o700)
    db = state / "state.db"
    with AlertStore(db) as store:
        store.add([make_alert(sid=4242)])
    os.environ[SECRET] = "hunter2"             # in the caller's environment only
    backend = LocalBackend(db, cluster_id="dlbiso" + secrets.token_hex(3))
    try:
        backend.create_namespace("red")
        backend.run_pod("red", "red1", "wbitt/network-multitool", {"app": "red1"})
        backend.run_pod("red", "red2", "wbitt/network-multitool", {"app": "red2"})
        backend.apply({"apiVersion": "v1", "kind": "Pod",
                       "metadata": {"name": "admin", "namespace": "red"},
                       "spec": {"securityContext": {"runAsUser": 0},
                                "containers": [{"name": "admin", "image": "x"}]}})
        yield backend
    finally:
        os.environ.pop(SECRET, None)
        backend.down()
        backend.close()
        shutil.rmtree(state, ignore_errors=True)


def sh(cluster: LocalBackend, script: str, pod: str = "red1") -> tuple[int, str, str]:
    result = cluster.exec("red", pod, ["sh", "-c", script], timeout=30)
    return result.returncode, result.stdout.decode(), result.stderr.decode()


def test_runs_as_nobody_without_capabilities_in_its_own_uts(cluster: LocalBackend) -> None:
    code, out, _ = sh(cluster, "id -u; id -G; hostname; grep -E '^Cap(Eff|Prm|Bnd|Amb)' "
                               "/proc/self/status")
    lines = out.split("\n")
    assert code == 0 and lines[0] == str(POD_UID) and lines[1] == "65534"
    assert lines[2] == "red1"
    assert all(line.split()[1] == "0000000000000000" for line in lines[3:7])


def test_the_host_processes_are_invisible(cluster: LocalBackend) -> None:
    code, out, _ = sh(cluster, "cat /proc/1/cmdline | tr '\\0' ' '; echo; "
                               "ls /proc | grep -c '^[0-9]'; kill -0 %d && echo SIGNALLED"
                               % os.getpid())
    first, count = out.splitlines()[:2]
    assert "podserver.py" in first                   # pid 1 is the pod's own server
    assert int(count) <= 6                           # the server, sh, ls, grep, ...
    assert "SIGNALLED" not in out
    server = cluster.state.pod("red", "red1").pid
    nspid = next(line for line in Path(f"/proc/{server}/status").read_text().splitlines()
                 if line.startswith("NSpid:"))
    assert nspid.split()[1:] == [str(server), "1"]   # pid 1 of a pid namespace of its own


def test_the_host_netns_cannot_be_entered(cluster: LocalBackend) -> None:
    code, out, err = sh(cluster, f"ls /run/netns/{cluster.node_netns} || echo HIDDEN; "
                                 "nsenter --net=/proc/1/ns/net true || echo REFUSED")
    assert "HIDDEN" in out and "REFUSED" in out
    assert "Operation not permitted" in err


def test_writes_outside_the_pods_own_tmpfs_fail(cluster: LocalBackend) -> None:
    token = secrets.token_hex(4)
    targets = [f"/etc/{token}", f"/root/{token}", f"/var/lib/{token}", f"{ROOT}/{token}",
               f"/run/{token}"]
    script = "; ".join(f"touch {t} 2>/dev/null && echo WROTE {t}" for t in targets)
    code, out, _ = sh(cluster, script + f"; touch /tmp/{token} && echo TMP-OK")
    assert "WROTE" not in out and "TMP-OK" in out
    assert not any(Path(t).exists() for t in targets)
    assert not Path(f"/tmp/{token}").exists()        # the pod's /tmp is its own


def test_pods_do_not_share_their_tmp(cluster: LocalBackend) -> None:
    sh(cluster, "echo mine > /tmp/shared-check", pod="red1")
    code, _, _ = sh(cluster, "test -e /tmp/shared-check", pod="red2")
    assert code == 1


def test_the_alert_store_cannot_be_reached(cluster: LocalBackend) -> None:
    db = cluster.db_path
    env = f"PYTHONPATH={ROOT}"
    code, out, err = sh(cluster, f"ls -A {db.parent}; test -e {db} && echo VISIBLE; "
                                 f"{env} {sys.executable} -m dpictl alerts clear --db {db}")
    assert "VISIBLE" not in out and code != 0
    assert "removed" not in out
    with AlertStore(db) as store:
        assert [a.sid for a in store.query()] == [4242]


def test_the_callers_environment_does_not_leak(cluster: LocalBackend) -> None:
    code, out, _ = sh(cluster, "env")
    names = {line.split("=", 1)[0] for line in out.splitlines()}
    assert SECRET not in names and "hunter2" not in out
    assert {"PATH", "HOME", "LANG"} <= names
    server = cluster.state.pod("red", "red1").pid
    assert b"hunter2" not in Path(f"/proc/{server}/environ").read_bytes()


def test_pods_still_talk_http_on_port_80(cluster: LocalBackend) -> None:
    ip = cluster.state.pod("red", "red2").ip
    code, out, _ = sh(cluster, f"curl -s -m 5 -XPOST --data-raw smk=1234 http://{ip}:80/")
    assert code == 0 and "dpictl pod" in out


def test_a_pod_that_asks_for_root_gets_root_but_stays_confined(cluster: LocalBackend) -> None:
    code, out, _ = sh(cluster, f"id -u; hostname; ls -A {cluster.db_path.parent} | wc -l; "
                               "cat /proc/1/cmdline | tr '\\0' ' '", pod="admin")
    uid, host, entries, init = out.splitlines()
    assert (uid, host, entries) == ("0", "admin", "0")     # the state dir is an empty mask
    assert "podserver.py" in init


def test_an_exec_timeout_kills_the_command_inside_the_pod(cluster: LocalBackend) -> None:
    token = secrets.token_hex(4)
    result = cluster.exec("red", "red1", ["sh", "-c", f"sleep 300 # {token}"], timeout=1)
    assert result.returncode == 124
    leftovers = [p for p in Path("/proc").iterdir() if p.name.isdigit()
                 and token.encode() in _cmdline(p)]
    assert leftovers == []


def _cmdline(proc: Path) -> bytes:
    try:
        return (proc / "cmdline").read_bytes()
    except OSError:
        return b""
