"""`dpictl inspect` logic with a fake engine/loader/reader: outputs, store-before-show, the
summary, and bad input as one line on stderr."""

from __future__ import annotations

import json

import pytest

from dpictl.alerts.store import AlertStore

from . import fakes
from .in_process import run


@pytest.fixture
def fake(monkeypatch):
    fakes.install(monkeypatch)


@pytest.fixture
def pcap(tmp_path):
    p = tmp_path / "lab.txtpcap"
    p.write_bytes(b"1700000000.25 SYN\n1700000000.75 POST / smk=1234\n1700000001.0 FIN\n")
    return p


@pytest.fixture
def rules(tmp_path):
    p = tmp_path / "lab.rules"
    p.write_text("sid 21562\n")
    return p


def test_eve_output_is_one_line_per_alert_and_stored(fake, capsys, tmp_path, pcap, rules):
    db = tmp_path / "a.db"
    code, out, err = run(capsys, "inspect", "--pcap", str(pcap), "--rules", str(rules),
                         "-o", "eve", "--db", str(db))
    assert code == 0
    (line,) = out.splitlines()
    eve = json.loads(line)
    assert eve["alert"]["signature_id"] == 21562
    assert eve["timestamp"] == "2023-11-14T22:13:20.750000+0000"
    # Stored (and committed) before shown: the EVE record carries the row id.
    with AlertStore(db) as store:
        (stored,) = store.query()
    assert eve["dpictl"]["id"] == stored.id and stored.origin == "inspect"
    (summary,) = err.splitlines()
    assert summary.startswith("3 packets (")
    assert "1 alert;" in summary and "rules: 1 loaded, 0 failed" in summary


def test_json_output_is_array_of_calico_records(fake, capsys, tmp_path, pcap, rules):
    code, out, _ = run(capsys, "inspect", "-r", str(pcap), "-R", str(rules), "-o", "json",
                       "--db", str(tmp_path / "a.db"))
    assert code == 0
    records = json.loads(out)
    assert [r["record"]["snort_signature_id"] for r in records] == ["21562"]
    assert records[0]["type"] == "deep_packet_inspection" and records[0]["dest_port"] == 80


def test_table_output_and_default_builtin_rules(fake, capsys, tmp_path, pcap):
    code, out, err = run(capsys, "inspect", "--pcap", str(pcap), "--db", str(tmp_path / "a.db"))
    assert code == 0
    assert "SID" in out and "MESSAGE" in out
    assert "DPI RESOURCE" not in out and "ENDPOINT" not in out   # nothing a pcap can fill
    assert "1000001" in out and "LAB smk POST" in out
    assert "10.244.1.10:43512" in out


def test_no_store_leaves_db_untouched(fake, capsys, tmp_path, pcap, rules):
    db = tmp_path / "a.db"
    code, out, _ = run(capsys, "inspect", "--pcap", str(pcap), "-R", str(rules), "-o", "eve",
                       "--db", str(db), "--no-store")
    assert code == 0 and json.loads(out)["dpictl"]["id"] is None
    assert not db.exists()


def test_rule_errors_reported_per_line_others_still_alert(fake, capsys, tmp_path, pcap):
    good = tmp_path / "good.rules"
    good.write_text("sid 1\n")
    bad = tmp_path / "bad.rules"
    bad.write_text("sid 2\n\nalert tcp (garbage\n")
    code, out, err = run(capsys, "inspect", "--pcap", str(pcap), "-R", str(good), "-R", str(bad),
                         "-o", "eve", "--db", str(tmp_path / "a.db"))
    assert code == 0
    assert sorted(json.loads(x)["alert"]["signature_id"] for x in out.splitlines()) == [1, 2]
    lines = err.splitlines()
    assert lines[0] == f"{bad}:3: unparseable rule"
    assert "rules: 2 loaded, 1 failed" in lines[-1]


def test_truncated_source_keeps_earlier_alerts_then_one_line_error(fake, capsys, tmp_path):
    p = tmp_path / "t.txtpcap"
    p.write_bytes(b"1700000000.75 smk=1\n0 smk=pending\nTRUNCATED\n1700000002 smk=never\n")
    db = tmp_path / "a.db"
    code, out, err = run(capsys, "inspect", "--pcap", str(p), "-R", str(_rules(tmp_path)),
                         "-o", "eve", "--db", str(db))
    assert code == 3
    # The alert before the damage, and the one the flush released; none after.
    assert [json.loads(x)["timestamp"][:22] for x in out.splitlines()] == [
        "2023-11-14T22:13:20.75", "2023-11-14T22:13:20.50"]
    assert err.splitlines() == ["dpictl: error: capture.pcap: truncated packet record at byte 120"]
    with AlertStore(db) as store:
        assert store.count() == 2


def _rules(tmp_path):
    p = tmp_path / "r.rules"
    p.write_text("sid 5\n")
    return p


@pytest.mark.parametrize("argv,code,needle", [
    (["inspect", "--pcap", "/nonexistent/x.pcap"], 3, "/nonexistent/x.pcap: no such file"),
    (["inspect"], 2, None),
    (["inspect", "--pcap", "PCAP", "--interface", "lo"], 2, "one kind"),
    (["inspect", "--pcap", "PCAP", "-o", "yaml"], 2, "unknown output 'yaml'"),
    (["inspect", "--pcap", "PCAP", "--var", "HOME_NET"], 2, "is not NAME=VALUE"),
    (["inspect", "--pcap", "PCAP", "--rules", "/nonexistent.rules"], 3,
     "/nonexistent.rules: no such rule file or directory"),
    (["inspect", "--pcap", "PCAP", "--rules", "BADRULES"], 3, "no rules could be loaded"),
    (["inspect", "--pcap", "PCAP", "--netns", "x"], 2, "--netns only applies"),
])
def test_bad_input_is_one_line(fake, capsys, tmp_path, pcap, argv, code, needle):
    bad = tmp_path / "bad.rules"
    bad.write_text("nonsense\n")
    argv = [{"PCAP": str(pcap), "BADRULES": str(bad)}.get(a, a) for a in argv]
    got, out, err = run(capsys, *argv, "--db", str(tmp_path / "a.db"))
    assert got == code
    if needle:
        assert len(err.strip().splitlines()) == 1, err
        assert needle in err
    assert "Traceback" not in err
