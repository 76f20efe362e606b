"""Every way a cluster can refuse: one dpictl error with a hint, one line and an exit code."""

from __future__ import annotations

import os
import subprocess
import sys
import time
from pathlib import Path

import pytest
import yaml

from dpictl.backends.kubernetes import KubernetesBackend
from dpictl.errors import ClusterError, ExitCode, PermissionDenied

from .conftest import impersonating, rbac_enforced, unique

DPICTL = [sys.executable, "-m", "dpictl"]


def _run(args: list[str], env: dict | None = None) -> subprocess.CompletedProcess:
    return subprocess.run(DPICTL + args, capture_output=True, text=True, timeout=60,
                          env={**os.environ, **(env or {})})


def _assert_one_line(proc: subprocess.CompletedProcess, code: ExitCode, *needles: str) -> None:
    assert proc.returncode == int(code), proc.stderr
    assert "Traceback" not in proc.stderr
    lines = proc.stderr.strip().splitlines()
    assert len(lines) == 1, proc.stderr
    for needle in needles:
        assert needle in lines[0]


@pytest.fixture()
def no_kube_env(monkeypatch, tmp_path):
    monkeypatch.delenv("KUBECONFIG", raising=False)
    monkeypatch.delenv("KUBERNETES_SERVICE_HOST", raising=False)
    monkeypatch.setenv("HOME", str(tmp_path))
    return tmp_path


def test_no_kubeconfig_at_all(no_kube_env) -> None:
    with pytest.raises(ClusterError) as err:
        KubernetesBackend()
    assert "no kubeconfig found" in str(err.value)
    assert "--kubeconfig" in err.value.hint


def test_no_kubeconfig_from_the_cli_is_one_line_and_exit_6(no_kube_env) -> None:
    env = {k: v for k, v in os.environ.items() if k != "KUBECONFIG"}
    proc = subprocess.run(DPICTL + ["agent", "install"], capture_output=True, text=True,
                          timeout=60, env=env)
    _assert_one_line(proc, ExitCode.CLUSTER, "no kubeconfig found")


def test_missing_kubeconfig_file(tmp_path) -> None:
    with pytest.raises(ClusterError, match="does not exist"):
        KubernetesBackend(kubeconfig=tmp_path / "nope")
    proc = _run(["agent", "install", "--kubeconfig", str(tmp_path / "nope")])
    _assert_one_line(proc, ExitCode.CLUSTER, "does not exist")


def test_kubeconfig_env_list_with_no_file(no_kube_env, monkeypatch) -> None:
    monkeypatch.setenv("KUBECONFIG", f"{no_kube_env}/a{os.pathsep}{no_kube_env}/b")
    with pytest.raises(ClusterError, match="names no existing file"):
        KubernetesBackend()


def test_garbage_kubeconfig(tmp_path) -> None:
    bad = tmp_path / "kc"
    bad.write_text("this: is: not: yaml: [")
    with pytest.raises(ClusterError, match="kubeconfig"):
        KubernetesBackend(kubeconfig=bad)


def _write_kubeconfig(path: Path, server: str, token: str = "x", ca: str | None = None) -> Path:
    cluster = {"server": server}
    if ca:
        cluster["certificate-authority"] = ca
    path.write_text(yaml.safe_dump({
        "apiVersion": "v1", "kind": "Config", "current-context": "c",
        "clusters": [{"name": "c", "cluster": cluster}],
        "users": [{"name": "u", "user": {"token": token}}],
        "contexts": [{"name": "c", "context": {"cluster": "c", "user": "u"}}]}))
    return path


def test_unknown_context(tmp_path) -> None:
    cfg = _write_kubeconfig(tmp_path / "kc", "https://127.0.0.1:1")
    with pytest.raises(ClusterError) as err:
        KubernetesBackend(kubeconfig=cfg, context="nope")
    assert "nope" in str(err.value)


def test_unreachable_server_fails_fast(tmp_path) -> None:
    cfg = _write_kubeconfig(tmp_path / "kc", "https://127.0.0.1:1")
    b = KubernetesBackend(kubeconfig=cfg)
    started = time.monotonic()
    with pytest.raises(ClusterError) as err:
        b.get("Namespace")
    assert time.monotonic() - started < 10
    assert "cannot reach the API server at https://127.0.0.1:1" in str(err.value)
    assert "connection refused" in str(err.value)
    proc = _run(["agent", "install", "--kubeconfig", str(cfg)])
    _assert_one_line(proc, ExitCode.CLUSTER, "connection refused")


@pytest.mark.kube
def test_wrong_token_is_401_with_a_hint(kubeconfig, tmp_path) -> None:
    real = yaml.safe_load(kubeconfig.read_text())
    cluster = real["clusters"][0]["cluster"]
    cfg = _write_kubeconfig(tmp_path / "kc", cluster["server"], token="wrong",
                            ca=cluster.get("certificate-authority"))
    with pytest.raises(ClusterError) as err:
        KubernetesBackend(kubeconfig=cfg).get("Namespace")
    assert "401 Unauthorized" in str(err.value) and "log in" in err.value.hint


@pytest.mark.kube
def test_untrusted_certificate(kubeconfig, tmp_path) -> None:
    real = yaml.safe_load(kubeconfig.read_text())
    cfg = _write_kubeconfig(tmp_path / "kc", real["clusters"][0]["cluster"]["server"])
    with pytest.raises(ClusterError, match="TLS certificate not trusted"):
        KubernetesBackend(kubeconfig=cfg).get("Namespace")


@pytest.mark.kube
def test_403_names_verb_resource_group_and_namespace(kubeconfig, backend, make_ns) -> None:
    if not rbac_enforced(kubeconfig):
        pytest.skip("this API server authorizes everything (AlwaysAllow): no 403 possible")
    ns = make_ns("rbac")
    nobody = impersonating(kubeconfig, unique("nobody"))
    with pytest.raises(PermissionDenied) as err:
        nobody.get("Pod", namespace=ns)
    msg, hint = str(err.value), err.value.hint
    assert f"cannot list pods in namespace {ns}" in msg and "dk8-nobody" in msg
    assert "verb 'list'" in hint and "resource 'pods'" in hint and '"" (core)' in hint
    with pytest.raises(PermissionDenied) as err:
        nobody.apply({"apiVersion": "apps/v1", "kind": "DaemonSet",
                      "metadata": {"name": "x", "namespace": ns},
                      "spec": {"selector": {"matchLabels": {"a": "b"}},
                               "template": {"metadata": {"labels": {"a": "b"}},
                                            "spec": {"containers": [{"name": "c",
                                                                     "image": "x"}]}}}})
    assert "daemonsets.apps" in str(err.value) and "group apps" in err.value.hint
    with pytest.raises(PermissionDenied, match="cannot create namespaces"):
        nobody.create_namespace(unique("x"))
    assert err.value.exit_code == ExitCode.NOT_PERMITTED
