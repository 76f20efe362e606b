"""Local backend bookkeeping that needs no root: naming, object store, patches, cluster id."""

from __future__ import annotations

import os
from pathlib import Path

import pytest

from dpictl.backends.local import LocalBackend, naming
from dpictl.backends.local.objects import json_patch, merge_patch
from dpictl.errors import ClusterError, NotFound, PermissionDenied, UsageError

DPI = {"apiVersion": "projectcalico.org/v3", "kind": "DeepPacketInspection",
       "metadata": {"name": "red-dpi-all", "namespace": "red"}, "spec": {"selector": "all()"}}


@pytest.fixture()
def backend(tmp_path: Path) -> LocalBackend:
    b = LocalBackend(tmp_path / "state.db", cluster_id="dlbunit")
    yield b
    b.close()


def test_calico_interface_names() -> None:
    assert naming.host_interface_name("red", "red1") == "cali08ce55c424a"
    assert naming.host_interface_name("red", "red2") == "cali5be78d22d70"
    assert len(naming.host_interface_name("a" * 63, "b" * 63)) == 15


def test_netns_names_derive_from_cluster_id_and_stay_short() -> None:
    assert naming.node_netns_name("dlbx1") == "dlbx1-node"
    assert naming.pod_netns_name("dlbx1", "red", "red1") == "dlbx1-red-red1"
    long = naming.pod_netns_name("dlbx1", "n" * 63, "p" * 63)
    assert long.startswith("dlbx1-") and len(long) <= 80
    assert long != naming.pod_netns_name("dlbx1", "n" * 63, "p" * 62 + "q")


def test_default_cluster_id_is_stable_per_state_file(tmp_path: Path,
                                                      monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.delenv(naming.CLUSTER_ID_ENV, raising=False)
    a, b = tmp_path / "a.db", tmp_path / "b.db"
    assert naming.derived_cluster_id(a) == naming.derived_cluster_id(a)
    assert naming.derived_cluster_id(a) != naming.derived_cluster_id(b)
    first = LocalBackend(a).cluster_id
    a.unlink()            # a crash that lost the state: same path, same cluster
    assert LocalBackend(a).cluster_id == first == naming.derived_cluster_id(a)


def test_cluster_id_is_kept_in_state_and_checked(tmp_path: Path,
                                                 monkeypatch: pytest.MonkeyPatch) -> None:
    db = tmp_path / "s.db"
    monkeypatch.setenv(naming.CLUSTER_ID_ENV, "dlbenv1")
    assert LocalBackend(db).cluster_id == "dlbenv1"
    monkeypatch.delenv(naming.CLUSTER_ID_ENV)
    assert LocalBackend(db).cluster_id == "dlbenv1"
    with pytest.raises(UsageError, match="belongs to cluster 'dlbenv1'"):
        LocalBackend(db, cluster_id="dlbother")
    with pytest.raises(UsageError, match="invalid cluster id"):
        LocalBackend(tmp_path / "t.db", cluster_id="Bad_Id")


def test_apply_outcomes_and_bookkeeping(backend: LocalBackend) -> None:
    with pytest.raises(NotFound, match='namespaces "red" not found'):
        backend.apply(DPI)
    backend.create_namespace("red")
    obj, outcome = backend.apply(DPI)
    assert outcome == "created"
    meta = obj["metadata"]
    assert meta["generation"] == 1 and meta["uid"] and meta["creationTimestamp"].endswith("Z")
    again, outcome = backend.apply(DPI)
    assert outcome == "unchanged" and again["metadata"]["resourceVersion"] == \
        meta["resourceVersion"]
    changed, outcome = backend.apply({**DPI, "spec": {"selector": "app == 'red1'"}})
    assert outcome == "configured"
    assert changed["metadata"]["generation"] == 2
    assert changed["metadata"]["uid"] == meta["uid"]
    assert int(changed["metadata"]["resourceVersion"]) > int(meta["resourceVersion"])
    assert backend.get("dpi", "red", "red-dpi-all")[0]["spec"]["selector"] == "app == 'red1'"


def test_status_patch_keeps_generation(backend: LocalBackend) -> None:
    backend.create_namespace("red")
    backend.apply(DPI)
    status = {"nodes": [{"node": "n1", "active": {"success": True, "lastUpdated": "t"}}]}
    out = backend.patch("DeepPacketInspection", "red-dpi-all", {"status": status},
                        namespace="red")
    assert out["status"] == status and out["metadata"]["generation"] == 1
    again, _ = backend.apply(DPI)          # apply leaves the status alone
    assert again["status"] == status


def test_felix_default_is_created_by_first_patch(backend: LocalBackend) -> None:
    with pytest.raises(NotFound):
        backend.get("felixconfiguration", name="default")
    out = backend.patch("felixconfiguration", "default",
                        {"spec": {"flowLogsFlushInterval": "30s"}})
    assert out["spec"] == {"flowLogsFlushInterval": "30s"}
    out = backend.patch("felixconfiguration", "default", {"spec": {"dnsLogsFlushInterval": "1m"}})
    assert out["spec"] == {"flowLogsFlushInterval": "30s", "dnsLogsFlushInterval": "1m"}
    with pytest.raises(Exception, match="invalid duration"):
        backend.patch("felixconfiguration", "default", {"spec": {"flowLogsFlushInterval": "x"}})
    with pytest.raises(NotFound):
        backend.patch("intrusiondetection", "tigera-secure", {"spec": {}})


def test_namespaces_and_delete(backend: LocalBackend) -> None:
    backend.create_namespace("red")
    with pytest.raises(ClusterError, match="already exists"):
        backend.create_namespace("red")
    backend.apply(DPI)
    assert [n["metadata"]["name"] for n in backend.get("ns")] == ["red"]
    assert backend.get("ns", name="red")[0]["status"] == {"phase": "Active"}
    assert backend.delete("ns", ["red"]) == ["red"]
    assert backend.get("dpi", all_namespaces=True) == []
    with pytest.raises(NotFound, match='namespaces "red" not found'):
        backend.delete("ns", ["red"])


def test_get_scopes(backend: LocalBackend) -> None:
    for ns in ("red", "blue"):
        backend.create_namespace(ns)
        backend.apply({**DPI, "metadata": {"name": f"{ns}-dpi", "namespace": ns}})
    assert [d["metadata"]["name"] for d in backend.get("dpi", "red")] == ["red-dpi"]
    assert backend.get("dpi") == []                         # namespace "default"
    assert len(backend.get("dpi", all_namespaces=True)) == 2


def test_pods_need_root(backend: LocalBackend, monkeypatch: pytest.MonkeyPatch) -> None:
    backend.create_namespace("red")
    monkeypatch.setattr(os, "geteuid", lambda: 1000)
    with pytest.raises(PermissionDenied, match="needs root") as info:
        backend.run_pod("red", "red1", "img", {})
    assert "sudo" in info.value.hint
    assert backend.get("pods", "red") == []


def test_merge_patch_rfc7386() -> None:
    assert merge_patch({"a": {"b": 1, "c": 2}}, {"a": {"b": None, "d": 3}}) == \
        {"a": {"c": 2, "d": 3}}
    assert merge_patch({"a": [1, 2]}, {"a": [3]}) == {"a": [3]}


def test_json_patch_operations() -> None:
    doc = {"spec": {"x": 1, "items": [1, 2]}}
    out = json_patch(doc, [{"op": "replace", "path": "/spec/x", "value": 2},
                           {"op": "add", "path": "/spec/items/-", "value": 3},
                           {"op": "remove", "path": "/spec/items/0"},
                           {"op": "add", "path": "/spec/a~1b", "value": "s"}])
    assert out == {"spec": {"x": 2, "items": [2, 3], "a/b": "s"}}
    assert doc == {"spec": {"x": 1, "items": [1, 2]}}
    with pytest.raises(UsageError):
        json_patch(doc, [{"op": "move", "path": "/spec/x"}])


def test_status_patches_never_undo_a_concurrent_apply(tmp_path: Path) -> None:
    """The agent patches status while users apply specs (two processes, one file)."""
    import threading

    user = LocalBackend(tmp_path / "s.db", cluster_id="dlbrace")
    agent = LocalBackend(tmp_path / "s.db")
    user.create_namespace("red")
    user.apply(DPI)
    stop = threading.Event()

    def patch_status() -> None:
        n = 0
        while not stop.is_set():
            n += 1
            agent.patch("DeepPacketInspection", "red-dpi-all",
                        {"status": {"nodes": [{"node": "n", "active": {"success": True,
                                                                      "lastUpdated": str(n)}}]}},
                        namespace="red")

    thread = threading.Thread(target=patch_status)
    thread.start()
    try:
        for i in range(30):
            user.apply({**DPI, "spec": {"selector": f"app == 'v{i}'"}})
    finally:
        stop.set()
        thread.join()
    final = user.get("dpi", "red", "red-dpi-all")[0]
    assert final["spec"]["selector"] == "app == 'v29'"
    assert final["metadata"]["generation"] == 31 and final["status"]["nodes"][0]["node"] == "n"
