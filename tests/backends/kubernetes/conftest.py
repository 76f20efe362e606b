"""Fixtures for tests against the real test API server (`.ci/kube-apiserver.sh`).

The server is found through DPICTL_TEST_KUBECONFIG; tests marked `kube` are skipped only when
it is unset outside CI (tests/conftest.py). The API server is shared by the whole session and
has no controller-manager, so deleted namespaces stay Terminating: every test makes its own
uniquely named `dk8-...` namespaces, and tests that install cluster-wide CRDs remove them.
"""

from __future__ import annotations

import os
import secrets
import time
from pathlib import Path
from typing import TYPE_CHECKING, Callable, Iterator

import pytest
import yaml

from dpictl.backends.kubernetes import KubernetesBackend
from dpictl.errors import NotFound

if TYPE_CHECKING:
    from dpictl.backends.local import LocalBackend

FIXTURES = Path(__file__).parent / "fixtures"
PREFIX = "dk8"


@pytest.fixture(scope="session")
def kubeconfig() -> Path:
    path = os.environ.get("DPICTL_TEST_KUBECONFIG")
    if not path:
        pytest.fail("DPICTL_TEST_KUBECONFIG is not set (run .ci/kube-apiserver.sh)")
    if not Path(path).is_file():
        pytest.fail(f"DPICTL_TEST_KUBECONFIG={path} does not exist")
    return Path(path)


@pytest.fixture()
def backend(kubeconfig: Path) -> Iterator[KubernetesBackend]:
    """A fresh backend (fresh discovery cache) per test."""
    b = KubernetesBackend(kubeconfig=kubeconfig)
    yield b
    b.close()


def unique(word: str) -> str:
    return f"{PREFIX}-{word}-{secrets.token_hex(3)}"


@pytest.fixture()
def make_ns(backend: KubernetesBackend) -> Iterator[Callable[[str], str]]:
    """Creates uniquely named namespaces; deletes them after the test."""
    made: list[str] = []

    def make(word: str = "ns") -> str:
        name = unique(word)
        backend.create_namespace(name)
        made.append(name)
        return name

    yield make
    for name in made:
        purge_namespace(backend, name)


def purge_namespace(backend: KubernetesBackend, name: str) -> None:
    """Delete a namespace for good, doing the namespace controller's part: its pods go at
    once (a Running pod left behind keeps its IP in every later endpoint list), then the
    namespace is finalized so it does not stay Terminating."""
    ref = backend.ref("Pod")
    try:
        for pod in backend.get("Pod", namespace=name):
            backend.conn.request("DELETE", ref.path(name, pod["metadata"]["name"]),
                                 body={"kind": "DeleteOptions", "apiVersion": "v1",
                                       "gracePeriodSeconds": 0})
        backend.delete("Namespace", [name])
        backend.conn.request("PUT", f"/api/v1/namespaces/{name}/finalize",
                             body={"apiVersion": "v1", "kind": "Namespace",
                                   "metadata": {"name": name}, "spec": {"finalizers": []}})
    except NotFound:
        pass


def load_fixture(name: str) -> list[dict]:
    return [d for d in yaml.safe_load_all((FIXTURES / name).read_text()) if d]


def wait_for(predicate: Callable[[], bool], timeout: float = 15.0, what: str = "") -> None:
    deadline = time.monotonic() + timeout
    while time.monotonic() < deadline:
        if predicate():
            return
        time.sleep(0.1)
    raise AssertionError(f"timed out waiting for {what or predicate}")


def remove_crd(backend: KubernetesBackend, name: str) -> None:
    """Delete a CRD and wait until the API server has removed it (and its objects)."""
    try:
        backend.delete("CustomResourceDefinition", [name])
    except NotFound:
        return

    def gone() -> bool:
        try:
            backend.get("CustomResourceDefinition", name=name)
            return False
        except NotFound:
            return True
    wait_for(gone, 60, f"CRD {name} to go")
    backend.discovery.invalidate()


def install_crds(backend: KubernetesBackend, fixture: str) -> list[str]:
    """Apply CRDs from a fixture file and wait until they serve."""
    from dpictl.backends.kubernetes.agent_manifests import _wait_established

    names = []
    for doc in load_fixture(fixture):
        backend.apply(doc)
        names.append(doc["metadata"]["name"])
    _wait_established(backend, names)
    return names


DPI_CRDS = ("deeppacketinspections.dpictl.io", "deeppacketinspections.crd.projectcalico.org")
ALL_TEST_CRDS = DPI_CRDS + ("felixconfigurations.crd.projectcalico.org",
                            "intrusiondetections.dpictl.io",
                            "intrusiondetections.operator.tigera.io")


@pytest.fixture()
def clean_crds(backend: KubernetesBackend) -> Iterator[KubernetesBackend]:
    """No DPI/Felix/IntrusionDetection CRDs before the test, and none left after it."""
    for name in ALL_TEST_CRDS:
        remove_crd(backend, name)
    yield backend
    for name in ALL_TEST_CRDS:
        remove_crd(backend, name)


@pytest.fixture()
def local_cluster(tmp_path: Path) -> Iterator[LocalBackend]:
    """The pods' network for the end-to-end tests: a netns cluster on this machine (the test
    API server has no nodes), taken down again even when the test fails. Needs root."""
    from dpictl.backends.local import LocalBackend

    local = LocalBackend(db=tmp_path / "dpictl.db", cluster_id=PREFIX + secrets.token_hex(3))
    try:
        yield local
    finally:
        try:
            local.down()
        finally:
            local.close()


def impersonating(kubeconfig: Path, user: str, groups: tuple[str, ...] = ()) -> KubernetesBackend:
    """A backend whose requests are made as `user` (the admin token may impersonate)."""
    b = KubernetesBackend(kubeconfig=kubeconfig)
    b.conn.api_client.set_default_header("Impersonate-User", user)
    for group in groups:
        # the client sends one header per name; several groups need several headers,
        # which a dict cannot hold, so tests use at most one group
        b.conn.api_client.set_default_header("Impersonate-Group", group)
    return b


def rbac_enforced(kubeconfig: Path) -> bool:
    """True when the server authorizes with RBAC (.ci/kube-apiserver.sh), not AlwaysAllow."""
    from dpictl.errors import PermissionDenied

    probe = impersonating(kubeconfig, f"{PREFIX}-nobody")
    try:
        probe.get("Pod", namespace="kube-system")
        return False
    except PermissionDenied:
        return True
    finally:
        probe.close()


def patch_pod_running(backend: KubernetesBackend, namespace: str, name: str, ip: str,
                      node: str = f"{PREFIX}-node") -> dict:
    """Do what a kubelet would: bind the pod to a node and report it Running with an IP."""
    ref = backend.ref("Pod")
    binding = {"apiVersion": "v1", "kind": "Binding",
               "metadata": {"name": name, "namespace": namespace},
               "target": {"apiVersion": "v1", "kind": "Node", "name": node}}
    backend.conn.request("POST", ref.path(namespace, name, "binding"), body=binding)
    status = {"status": {"phase": "Running", "podIP": ip, "podIPs": [{"ip": ip}],
                         "hostIP": "10.0.0.1",
                         "conditions": [{"type": "Ready", "status": "True"}]}}
    return backend.objects.patch(ref, name, status, namespace, "merge", subresource="status")
