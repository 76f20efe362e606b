"""The evidence behind an alert: the triggering packet kept in the store (bounded), shown
with Wireshark's dissection (tshark through pyshark) and its matched contents highlighted,
exported as pcapng that tshark reads back with the rule's comment, and in EVE on request."""

from __future__ import annotations

import base64
import json
import shutil
import sqlite3
import subprocess
import sys

import pytest

from dpictl.alerts.store import SCHEMA_VERSION, AlertStore
from dpictl.investigate.highlight import matched_content_spans

from cli.in_process import run

needs_tshark = pytest.mark.skipif(shutil.which("tshark") is None,
                                  reason="tshark is not installed (scripts/setup.sh does)")


@pytest.fixture(scope="module")
def lab_db(tmp_path_factory, shared_dir):
    """lab-smk.pcap inspected with the Snort 3 community rules into a fresh store."""
    db = tmp_path_factory.mktemp("evidence") / "a.db"
    proc = subprocess.run([sys.executable, "-m", "dpictl", "inspect", "--pcap",
                           str(shared_dir / "pcaps" / "lab-smk.pcap"), "--rules",
                           str(shared_dir / "rules" / "snort3-community.rules"), "--db",
                           str(db), "-o", "json"], capture_output=True, text=True, timeout=120)
    assert proc.returncode == 0, proc.stderr
    return db


def test_the_triggering_packet_is_stored_with_the_alert(lab_db):
    with AlertStore(lab_db) as store:
        (alert,) = store.query(sid=21562)
    assert b"smk=1234" in alert.packet and alert.linktype == 1
    assert alert.packet[12:14] == b"\x08\x00"                   # an Ethernet frame


@needs_tshark
def test_show_dissects_the_post_and_highlights_what_matched(lab_db, capsys):
    with AlertStore(lab_db) as store:
        (alert,) = store.query(sid=21562)
    code, out, err = run(capsys, "alerts", "show", str(alert.id), "--db", str(lab_db),
                         "-o", "json")
    assert code == 0, err
    doc = json.loads(out)
    layers = {layer["layer"]: layer for layer in doc["dissection"]}
    assert {"eth", "ip", "tcp", "http"} <= set(layers)
    shown = [f["showname"] for f in layers["http"]["fields"]]
    assert any(s.startswith("POST / HTTP/1.1") for s in shown)
    assert 'content:"smk="' in doc["matched_contents"]
    assert base64.b64decode(doc["packet"]) == alert.packet
    assert doc["alert"]["record"]["snort_signature_id"] == "21562"
    # the handshake that led up to the POST, oldest first
    kept = [base64.b64decode(k["packet"]) for k in doc["context"]]
    assert [k.packet for k in alert.context] == kept and len(kept) == 3
    assert [k["time"] for k in doc["context"]] == sorted(k["time"] for k in doc["context"])
    assert all(k["time"] < alert.time for k in doc["context"])
    code, out, _ = run(capsys, "alerts", "show", str(alert.id), "--db", str(lab_db))
    assert code == 0 and "Wireshark dissection" in out and "Form item" in out
    assert "3 packets of its flow before it" in " ".join(out.replace("│", " ").split())


def test_show_without_tshark_falls_back_to_hex_and_names_the_package(lab_db, capsys,
                                                                     monkeypatch):
    from dpictl.investigate import dissect as dissect_mod

    def missing(*args):
        raise dissect_mod.DissectorMissing("tshark is not installed")

    monkeypatch.setattr(dissect_mod, "dissect", missing)
    code, out, _ = run(capsys, "alerts", "show", "1", "--db", str(lab_db))
    assert code == 0
    assert "apt-get install tshark" in " ".join(out.split())       # rich may wrap it
    assert "0000  " in out and "smk=" in out


def test_show_of_an_unknown_id_is_one_line(lab_db, capsys):
    code, _, err = run(capsys, "alerts", "show", "999", "--db", str(lab_db))
    assert code != 0 and err.strip().splitlines() == [err.strip()] and "999" in err


@needs_tshark
def test_export_writes_pcapng_tshark_reads_with_the_rule_comment(lab_db, tmp_path, capsys):
    out_file = tmp_path / "evidence.pcapng"
    code, out, err = run(capsys, "alerts", "export", "--sid", "21562", "--pcap",
                         str(out_file), "--db", str(lab_db))
    assert code == 0, err
    assert "4 packets written" in out and "(1 triggering, 3 before them" in out
    fields = subprocess.run(["tshark", "-r", str(out_file), "-T", "fields", "-E",
                             "occurrence=a", "-e", "tcp.flags.str", "-e", "frame.comment",
                             "-e", "http.request.method", "-e", "urlencoded-form.key", "-e",
                             "urlencoded-form.value"],
                            capture_output=True, text=True, timeout=60).stdout
    rows = [line.split("\t") for line in fields.strip().splitlines()]
    # what led up to the alert: the flow's handshake, uncommented, then the POST
    assert [r[0].replace("\u00b7", "") for r in rows[:3]] == ["S", "AS", "A"]
    assert all(r[1:] == ["", "", "", ""] for r in rows[:3])
    flags, comment, method, key, value = rows[3]
    assert "sid 1:21562:6" in comment and "Bredolab" in comment
    assert (method, key, value) == ("POST", "smk", "1234")
    assert len(rows) == 4


def test_packet_bytes_bounds_what_is_kept(tmp_path, shared_dir):
    db = tmp_path / "b.db"
    subprocess.run([sys.executable, "-m", "dpictl", "inspect", "--pcap",
                    str(shared_dir / "pcaps" / "lab-smk.pcap"), "--db", str(db),
                    "--packet-bytes", "20", "-o", "json"], check=True, capture_output=True,
                   timeout=120)
    with AlertStore(db) as store:
        alerts = store.query()
    assert alerts and all(len(a.packet) == 20 for a in alerts)


def test_flow_packets_zero_keeps_no_context(tmp_path, shared_dir):
    db = tmp_path / "c.db"
    subprocess.run([sys.executable, "-m", "dpictl", "inspect", "--pcap",
                    str(shared_dir / "pcaps" / "lab-smk.pcap"), "--db", str(db),
                    "--flow-packets", "0", "-o", "json"], check=True, capture_output=True,
                   timeout=120)
    with AlertStore(db) as store:
        alerts = store.query()
    assert alerts and all(a.context == () and a.packet for a in alerts)


def test_eve_packet_fields_as_suricata_names_them(shared_dir):
    proc = subprocess.run([sys.executable, "-m", "dpictl", "inspect", "--pcap",
                           str(shared_dir / "pcaps" / "lab-smk.pcap"), "--no-store", "-o",
                           "eve", "--eve-packet"], capture_output=True, text=True, timeout=120)
    event = json.loads(proc.stdout.splitlines()[0])
    assert base64.b64decode(event["payload"]).startswith(b"POST / HTTP/1.1\r\n")
    assert event["payload_printable"].startswith("POST / HTTP/1.1\r\n")
    assert b"smk=1234" in base64.b64decode(event["packet"])
    assert event["packet_info"] == {"linktype": 1}


def test_a_version_1_store_gains_the_packet_columns(tmp_path):
    db = tmp_path / "old.db"
    with AlertStore(db) as store:
        pass
    conn = sqlite3.connect(db)                  # make it look like a version-1 file
    conn.execute("DROP TABLE alerts")
    conn.execute("CREATE TABLE alerts (id INTEGER PRIMARY KEY AUTOINCREMENT, time REAL NOT "
                 "NULL, source_ip TEXT NOT NULL, source_port INTEGER NOT NULL, dest_ip TEXT "
                 "NOT NULL, dest_port INTEGER NOT NULL, proto TEXT NOT NULL, gid INTEGER NOT "
                 "NULL, sid INTEGER NOT NULL, rev INTEGER NOT NULL, signature TEXT NOT NULL, "
                 "category TEXT NOT NULL DEFAULT '', priority INTEGER NOT NULL, origin TEXT NOT "
                 "NULL DEFAULT '', host TEXT NOT NULL DEFAULT '', source_name TEXT NOT NULL "
                 "DEFAULT '', source_namespace TEXT NOT NULL DEFAULT '', dest_name TEXT NOT "
                 "NULL DEFAULT '', dest_namespace TEXT NOT NULL DEFAULT '', endpoint_name TEXT,"
                 " endpoint_namespace TEXT, endpoint_interface TEXT, endpoint_role TEXT, "
                 "app_proto TEXT, pkt_num INTEGER NOT NULL DEFAULT 0, rule_text TEXT NOT NULL "
                 "DEFAULT '', snort_alert TEXT NOT NULL DEFAULT '', extra TEXT NOT NULL "
                 "DEFAULT '{}')")
    conn.execute("INSERT INTO alerts (time, source_ip, source_port, dest_ip, dest_port, proto,"
                 " gid, sid, rev, signature, priority) VALUES (1.5, '10.0.0.1', 1, '10.0.0.2',"
                 " 80, 'TCP', 1, 7, 1, 'old', 3)")
    conn.execute("UPDATE alerts_meta SET value = '1' WHERE key = 'schema_version'")
    conn.commit()
    conn.close()
    with AlertStore(db) as store:
        assert store.schema_version == SCHEMA_VERSION
        (old,) = store.query()
    assert (old.sid, old.packet, old.linktype, old.context) == (7, b"", 1, ())


def test_highlight_marks_only_contents_present_in_the_packet():
    rule = ('alert tcp any any -> any any (msg:"t"; content:"GET"; content:"evil",nocase; '
            'content:"absent"; content:!"nothere"; sid:1;)')
    spans = [rule[a:b] for a, b in matched_content_spans(rule, b"GET /EVIL HTTP/1.1")]
    assert spans == ['content:"GET"', 'content:"evil"']
    assert matched_content_spans("not a rule", b"x") == []
