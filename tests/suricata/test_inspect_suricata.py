"""`dpictl inspect --engine suricata` on pcaps, and its bad-input errors (one line each)."""

from __future__ import annotations

import json
import os
import shutil
import sys
from pathlib import Path

import pytest

sys.path.insert(0, str(Path(__file__).resolve().parents[1] / "cli"))

from in_process import run  # noqa: E402

needs_suricata = pytest.mark.skipif(shutil.which("suricata") is None,
                                    reason="Suricata is not installed")


@needs_suricata
def test_lab_pcap_with_snort3_rules_stores_the_calico_record(capsys, shared_dir, tmp_path):
    db = tmp_path / "a.db"
    code, out, err = run(capsys, "inspect", "--engine", "suricata", "-r",
                         str(shared_dir / "pcaps" / "lab-smk.pcap"), "--rules",
                         str(shared_dir / "rules" / "snort3-community.rules"), "-o", "eve",
                         "--db", str(db))
    assert code == 0, err
    lines = [json.loads(ln) for ln in out.splitlines()]
    alerts = [ln for ln in lines if ln.get("event_type") == "alert"]
    assert [a["alert"]["signature_id"] for a in alerts] == [21562]
    assert alerts[0]["alert"]["category"] == "A Network Trojan was detected"
    assert alerts[0]["app_proto"] == "http"
    stats = [ln for ln in lines if ln.get("event_type") == "stats"]
    assert stats and stats[0]["stats"]["decoder"]["pkts"] == 10
    assert "rules: 4,012 loaded, 5 failed" in err
    code, out, _ = run(capsys, "alerts", "list", "--db", str(db), "-o", "json")
    stored = json.loads(out)
    assert [a["record"]["snort_signature_id"] for a in stored] == ["21562"]
    assert stored[0]["source_ip"] == "10.244.1.10" and stored[0]["dest_port"] == 80


def test_missing_suricata_says_how_to_install_it(capsys, shared_dir, monkeypatch):
    monkeypatch.setenv("DPICTL_SURICATA", "/nonexistent/suricata")
    code, _, err = run(capsys, "inspect", "--engine", "suricata", "-r",
                       str(shared_dir / "pcaps" / "lab-smk.pcap"))
    assert code != 0
    assert "Suricata is not installed" in err and "scripts/setup.sh --suricata" in err
    assert "Traceback" not in err


def test_suricata_older_than_7_is_refused(capsys, shared_dir, monkeypatch, tmp_path):
    fake = tmp_path / "suricata"
    fake.write_text("#!/bin/sh\necho 'This is Suricata version 6.0.20 RELEASE'\n")
    fake.chmod(0o755)
    monkeypatch.setenv("DPICTL_SURICATA", str(fake))
    code, _, err = run(capsys, "inspect", "--engine", "suricata", "-r",
                       str(shared_dir / "pcaps" / "lab-smk.pcap"))
    assert code == 3
    assert "Suricata 6.0.20" in err and "too old" in err and "7 or newer" in err


def test_unknown_engine_is_a_usage_error(capsys, shared_dir):
    code, _, err = run(capsys, "inspect", "--engine", "snort", "-r",
                       str(shared_dir / "pcaps" / "lab-smk.pcap"))
    assert code == 2 and "unknown engine 'snort'" in err


@needs_suricata
def test_unwritable_log_directory_is_one_line(capsys, shared_dir, monkeypatch, tmp_path):
    blocked = tmp_path / "file"
    blocked.write_text("")
    monkeypatch.setenv("DPICTL_SURICATA_LOG_DIR", str(blocked / "logs"))
    code, _, err = run(capsys, "inspect", "--engine", "suricata", "-r",
                       str(shared_dir / "pcaps" / "lab-smk.pcap"), "--no-store")
    assert code == 3
    assert "cannot write the Suricata log directory" in err
    assert len(err.strip().splitlines()) <= 2          # the error (and its hint)


@needs_suricata
def test_a_rule_file_suricata_cannot_run_at_all_is_one_line(capsys, shared_dir, tmp_path):
    rules = tmp_path / "bad.rules"
    rules.write_text('alert udp any any -> any 161 (msg:"x"; ber_data:0x30; '
                     'ber_skip:0x01,optional; sid:9; )\n'
                     'alert tcp any any -> any 80 (msg:"y"; flow:to_client; id:5; '
                     'http_stat_code; content:"307"; service:http; sid:10; )\n')
    code, _, err = run(capsys, "inspect", "--engine", "suricata", "-r",
                       str(shared_dir / "pcaps" / "lab-smk.pcap"), "--rules", str(rules),
                       "--no-store")
    assert code == 3
    assert "Suricata can run none of the rules" in err.strip().splitlines()[-1]
    assert "Traceback" not in err and os.path.basename(str(rules)) in err
