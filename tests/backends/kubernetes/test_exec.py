"""`exec` through the exec subresource, driven over a real WebSocket by the real client.

A fake endpoint plays the API server + kubelet (the test API server has no node to exec on);
the one thing the real server can answer - "this pod has no node" - is tested against it.
"""

from __future__ import annotations

import time

import pytest

from dpictl.backends.kubernetes import KubernetesBackend
from dpictl.backends.kubernetes.pod_exec import exit_code_from_status
from dpictl.errors import ClusterError, PermissionDenied

from .conftest import unique
from .fake_exec_server import FakeExecServer, Script, exit_status, kubeconfig_for


@pytest.fixture()
def fake(tmp_path):
    servers = []

    def start(script: Script) -> KubernetesBackend:
        server = FakeExecServer(script)
        servers.append(server)
        cfg = tmp_path / f"kubeconfig-{len(servers)}"
        kubeconfig_for(server.url, cfg, token="sekret")
        backend = KubernetesBackend(kubeconfig=cfg)
        backend.server = server
        return backend

    yield start
    for s in servers:
        s.close()


def test_stdout_stderr_and_exit_code_come_back(fake) -> None:
    b = fake(Script(stdout=b"hello\n", stderr=b"warn\n", exit_code=0))
    result = b.exec("red", "red1", ["curl", "-s", "http://10.0.0.2:80"])
    assert (result.stdout, result.stderr, result.returncode) == (b"hello\n", b"warn\n", 0)
    seen = b.server.seen
    assert seen.path == "/api/v1/namespaces/red/pods/red1/exec"
    assert seen.query["command"] == ["curl", "-s", "http://10.0.0.2:80"]
    assert seen.query["stdout"] == ["true"] and seen.query["stderr"] == ["true"]
    assert seen.query.get("stdin", ["false"]) == ["false"]
    assert seen.headers["authorization"] == "Bearer sekret"
    assert "v5.channel.k8s.io" in seen.headers["sec-websocket-protocol"]


def test_nonzero_exit_code_is_read_from_the_error_channel(fake) -> None:
    b = fake(Script(stderr=b"curl: (7) Failed to connect\n", exit_code=7))
    result = b.exec("red", "red1", ["curl", "http://10.9.9.9"])
    assert result.returncode == 7
    assert result.stderr.startswith(b"curl: (7)")
    assert result.stdout == b""


def test_v4_protocol_also_works(fake) -> None:
    b = fake(Script(stdout=b"x" * 70000, exit_code=3, protocol="v4.channel.k8s.io"))
    result = b.exec("red", "red1", ["yes"])
    assert result.returncode == 3 and len(result.stdout) == 70000


def test_stdin_is_sent_and_closed(fake) -> None:
    b = fake(Script(echo_stdin=True, exit_code=0))
    result = b.exec("red", "red1", ["cat"], stdin=b"smk=1234")
    assert b.server.seen.query["stdin"] == ["true"]
    assert b.server.seen.stdin == b"smk=1234"
    assert result.stdout == b"smk=1234"


def test_refused_upgrade_maps_403_to_permission_denied(fake) -> None:
    status = {"kind": "Status", "status": "Failure", "reason": "Forbidden", "code": 403,
              "message": 'pods "red1" is forbidden: User "bob" cannot create resource '
                         '"pods/exec" in API group "" in the namespace "red"'}
    b = fake(Script(refuse=(403, status)))
    with pytest.raises(PermissionDenied) as err:
        b.exec("red", "red1", ["true"])
    assert "create pods/exec in namespace red" in str(err.value)
    assert "bob" in str(err.value)


def test_a_command_that_does_not_finish_times_out(fake) -> None:
    b = fake(Script(hang=True))
    started = time.monotonic()
    with pytest.raises(ClusterError, match="did not finish within 1s"):
        b.exec("red", "red1", ["sleep", "100"], timeout=1.0)
    assert time.monotonic() - started < 5


@pytest.mark.parametrize("code", [0, 1, 127])
def test_exit_code_from_status(code: int) -> None:
    assert exit_code_from_status(exit_status(code).decode()) == code


@pytest.mark.kube
def test_exec_on_a_pod_without_a_node_is_one_clear_error(backend, make_ns) -> None:
    ns = make_ns("exec")
    name = unique("p")
    backend.run_pod(ns, name, None, {"app": "x"})
    with pytest.raises(ClusterError) as err:
        backend.exec(ns, name, ["true"], timeout=5)
    message = str(err.value)
    assert f"cannot exec in pod {ns}/{name}" in message
    assert "host" in message                 # "pod does not have a host assigned"
    assert "\n" not in message
