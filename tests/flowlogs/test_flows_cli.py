"""`dpictl flows list` over a store filled by hand: JSON as Calico's records, filters, the
table, and one-line errors."""

from __future__ import annotations

import json
import time

import pytest

from dpictl.flowlogs.store import FlowLogStore
from tests.cli.in_process import run

from .factories import make_flow


@pytest.fixture
def db(tmp_path):
    path = tmp_path / "s.db"
    now = time.time()
    with FlowLogStore(path) as store:
        store.write([
            make_flow(start_time=now - 3630, end_time=now - 3600, source_name="red1",
                      source_namespace="red", dest_name="red2", dest_namespace="red"),
            make_flow(start_time=now - 90, end_time=now - 60),
            make_flow(start_time=now - 40, end_time=now - 10, reporter="dst", dest_ip="8.8.8.8",
                      dest_name="pub", dest_namespace="-", dest_labels={}, bytes_out=5 << 20),
        ])
    return path


def test_list_json_is_a_list_of_calico_records(capsys, db):
    code, out, _ = run(capsys, "flows", "list", "-o", "json", "--db", str(db))
    assert code == 0
    records = json.loads(out)
    assert [r["source_name"] for r in records] == ["red1", "blue2", "blue2"]
    assert records[1]["source_labels"] == {"labels": ["app=blue2", "tier=web"]}
    assert set(records[0]) >= {"start_time", "end_time", "source_ip", "source_name",
                               "source_namespace", "source_labels", "dest_ip", "dest_name",
                               "dest_namespace", "dest_labels", "dest_port", "proto",
                               "action", "reporter", "num_flows", "packets_in",
                               "packets_out", "bytes_in", "bytes_out"}


@pytest.mark.parametrize("args, sources", [
    (["-n", "red"], ["red1"]),
    (["-n", "blue"], ["blue2", "blue2"]),
    (["--since", "5m"], ["blue2", "blue2"]),
    (["--since", "30s"], ["blue2"]),
    (["--limit", "1"], ["blue2"]),
    (["-n", "nowhere"], []),
])
def test_list_filters(capsys, db, args, sources):
    code, out, _ = run(capsys, "flows", "list", "-o", "json", "--db", str(db), *args)
    assert code == 0
    assert [r["source_name"] for r in json.loads(out)] == sources


def test_list_table(capsys, db):
    code, out, _ = run(capsys, "flows", "list", "--db", str(db))
    assert code == 0
    assert "REPORTER" in out and "BYTES OUT/IN" in out
    assert "red/red1" in out and "blue/blue1" in out and "pub 8.8.8.8" in out
    assert "5.0 MiB" in out


def test_empty_store_says_so(capsys, tmp_path):
    code, out, _ = run(capsys, "flows", "list", "--db", str(tmp_path / "new.db"))
    assert (code, out.strip()) == (0, "No flow logs.")


@pytest.mark.parametrize("args, needle", [
    (["-o", "yaml"], "unknown output 'yaml'"),
    (["--since", "soon"], "invalid duration 'soon'"),
    (["--backend", "moon"], "unknown backend 'moon'"),
])
def test_bad_options_one_line(capsys, db, args, needle):
    code, out, err = run(capsys, "flows", "list", "--db", str(db), *args)
    assert code == 2
    assert needle in err and len(err.strip().splitlines()) == 1 and "Traceback" not in err
