"""`dpictl alerts list|clear` over a store filled by hand."""

from __future__ import annotations

import json
import time

import pytest

from dpictl.alerts.record import Endpoint
from dpictl.alerts.store import AlertStore

from alerts.factories import make_alert

from .in_process import run


@pytest.fixture
def db(tmp_path):
    path = tmp_path / "s.db"
    now = time.time()
    with AlertStore(path) as store:
        store.add([
            make_alert(time=now - 3600, sid=1),
            make_alert(time=now - 60, sid=21562, dest_name="blue1", dest_namespace="blue"),
            make_alert(time=now - 10, sid=21562, source_name="blue2", source_namespace="blue",
                       endpoint=Endpoint("red2", "red", "cali5be78d22d70", "destination")),
        ])
    return path


def test_list_json_returns_calico_records(capsys, db):
    code, out, _ = run(capsys, "alerts", "list", "-o", "json", "--db", str(db))
    assert code == 0
    records = json.loads(out)
    assert len(records) == 3
    assert [r["record"]["snort_signature_id"] for r in records] == ["1", "21562", "21562"]
    assert records[2]["endpoint"]["interface"] == "cali5be78d22d70"


@pytest.mark.parametrize("args,sids", [
    (["--sid", "21562"], [21562, 21562]),
    (["--since", "5m"], [21562, 21562]),
    (["--since", "30s"], [21562]),
    (["-n", "blue"], [21562, 21562]),
    (["--pod", "red2"], [1, 21562]),
    (["-n", "red", "--pod", "blue1"], []),
    (["--limit", "2"], [21562, 21562]),
])
def test_list_filters(capsys, db, args, sids):
    code, out, _ = run(capsys, "alerts", "list", "-o", "eve", "--db", str(db), *args)
    assert code == 0
    assert [json.loads(x)["alert"]["signature_id"] for x in out.splitlines()] == sids


def test_list_table_columns(capsys, db):
    code, out, _ = run(capsys, "alerts", "list", "--db", str(db), "--sid", "21562")
    assert code == 0
    header = out.splitlines()[0]
    for col in ("TIME", "DPI RESOURCE", "ENDPOINT", "SOURCE", "DESTINATION", "SID", "MESSAGE"):
        assert col in header
    assert "dpi.red/red-dpi-all" in out and "blue/blue1" in out and "blue/blue2" in out
    assert "red/red2 (cali5be78d22d70)" in out


def test_clear_reports_count(capsys, db):
    assert run(capsys, "alerts", "clear", "--db", str(db))[1].strip() == "3 alerts removed"
    assert run(capsys, "alerts", "list", "-o", "json", "--db", str(db))[1].strip() == "[]"


@pytest.mark.parametrize("args,needle", [
    (["--since", "yesterday"], "invalid duration 'yesterday'"),
    (["-o", "xml"], "unknown output 'xml'"),
    (["--backend", "nomad"], "unknown backend 'nomad'"),
])
def test_bad_options_one_line(capsys, db, args, needle):
    code, out, err = run(capsys, "alerts", "list", "--db", str(db), *args)
    assert code == 2
    assert err.strip().splitlines() == [err.strip()] and needle in err


def test_kubernetes_backend_without_events_module_is_usage_error(capsys, db, monkeypatch):
    import sys

    monkeypatch.setitem(sys.modules, "dpictl.backends.kubernetes.events", None)
    code, _, err = run(capsys, "alerts", "list", "--backend", "kubernetes")
    assert code == 2 and "cannot list alerts" in err


def test_kubernetes_backend_filters_what_the_cluster_returns(capsys, monkeypatch):
    import sys
    import types

    seen = {}

    def list_alerts(kubeconfig=None, context=None, namespace=None, since=None):
        seen.update(kubeconfig=kubeconfig, context=context, namespace=namespace)
        return [make_alert(time=200.0, sid=9), make_alert(time=100.0, sid=8)]

    module = types.ModuleType("dpictl.backends.kubernetes.events")
    module.list_alerts = list_alerts
    monkeypatch.setitem(sys.modules, "dpictl.backends.kubernetes.events", module)
    code, out, _ = run(capsys, "alerts", "list", "--backend", "kubernetes", "-n", "red",
                       "--context", "kind", "-o", "eve")
    assert code == 0
    assert (seen["context"], seen["namespace"]) == ("kind", "red")
    assert [json.loads(x)["alert"]["signature_id"] for x in out.splitlines()] == [8, 9]
