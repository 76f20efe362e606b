"""`dpictl inspect` and `dpictl alerts list` end to end, as a user runs them (subprocess),
on the shared lab pcap and the Snort 3 community rules. Skipped until the engine, rule
loader and pcap reader are in the tree."""

from __future__ import annotations

import json
import os
import random
import subprocess
import sys
from pathlib import Path

import pytest

SHARED = Path(__file__).resolve().parents[2].parent / "shared"
LAB_PCAP = SHARED / "pcaps" / "lab-smk.pcap"
SNORT3_RULES = SHARED / "rules" / "snort3-community.rules"



def dpictl_run(*args: str, timeout: float = 300) -> subprocess.CompletedProcess:
    env = {k: v for k, v in os.environ.items() if k != "DPICTL_DB"}
    return subprocess.run([sys.executable, "-m", "dpictl", *args], capture_output=True,
                          text=True, timeout=timeout, env=env)


@pytest.fixture(scope="module")
def lab_run(tmp_path_factory):
    """One inspect of the lab pcap with the community rules (loading them is the slow part)."""
    db = tmp_path_factory.mktemp("lab") / "dpictl.db"
    out = dpictl_run("inspect", "--pcap", str(LAB_PCAP), "--rules", str(SNORT3_RULES),
                     "-o", "eve", "--db", str(db))
    return out, db


def test_lab_pcap_with_community_rules_gives_21562(lab_run):
    out, _ = lab_run
    assert out.returncode == 0, out.stderr
    events = [json.loads(line) for line in out.stdout.splitlines()]
    sids = [e["alert"]["signature_id"] for e in events]
    assert 21562 in sids
    ev = events[sids.index(21562)]
    assert (ev["src_ip"], ev["dest_ip"], ev["dest_port"], ev["proto"]) == (
        "10.244.1.10", "10.244.1.11", 80, "TCP")
    assert ev["alert"]["signature"] == \
        "MALWARE-CNC Win.Trojan.Bredolab variant outbound connection"
    assert ev["alert"]["category"] == "A Network Trojan was detected"
    assert ev["alert"]["severity"] == 1 and ev["alert"]["rev"] == 6
    summary = out.stderr.strip().splitlines()[-1]
    assert summary.startswith("10 packets (")
    assert "Traceback" not in out.stderr


def test_alerts_list_json_returns_the_stored_records(lab_run):
    out, db = lab_run
    shown = [json.loads(line) for line in out.stdout.splitlines()]
    listed = dpictl_run("alerts", "list", "-o", "json", "--db", str(db))
    assert listed.returncode == 0, listed.stderr
    records = json.loads(listed.stdout)
    assert [r["record"]["snort_signature_id"] for r in records] == [
        str(e["alert"]["signature_id"]) for e in shown]
    rec = records[[r["record"]["snort_signature_id"] for r in records].index("21562")]
    assert rec["type"] == "deep_packet_inspection" and rec["origin"] == "inspect"
    assert rec["source_ip"] == "10.244.1.10" and rec["dest_port"] == 80
    assert '[1:21562:6] "MALWARE-CNC Win.Trojan.Bredolab variant outbound connection"' in \
        rec["record"]["snort_alert"]
    only = json.loads(dpictl_run("alerts", "list", "-o", "json", "--sid", "21562",
                                 "--db", str(db)).stdout)
    assert {r["record"]["snort_signature_id"] for r in only} == {"21562"}


def test_builtin_rules_fire_on_the_lab_request(tmp_path):
    out = dpictl_run("inspect", "--pcap", str(LAB_PCAP), "-o", "json", "--db",
                     str(tmp_path / "d.db"))
    assert out.returncode == 0, out.stderr
    records = json.loads(out.stdout)
    assert records, "the built-in lab rule did not fire"
    assert {(r["source_ip"], r["dest_ip"], r["dest_port"]) for r in records} == {
        ("10.244.1.10", "10.244.1.11", 80)}


def test_malformed_rule_among_good_ones(tmp_path):
    good = tmp_path / "good.rules"
    good.write_text('alert tcp any any -> any 80 (msg:"LAB smk body"; flow:to_server,'
                    'established; content:"smk="; sid:9000001; rev:1;)\n')
    bad = tmp_path / "bad.rules"
    bad.write_text('alert tcp any any -> any 80 (msg:"fine"; content:"POST"; sid:9000002;)\n'
                   '# a comment\n'
                   'alert tcp any any -> any 80 (msg:"broken"; content:"x"; sid:9000003; '
                   'nosuchkeyword:1;)\n')
    out = dpictl_run("inspect", "--pcap", str(LAB_PCAP), "-R", str(good), "-R", str(bad),
                     "-o", "eve", "--db", str(tmp_path / "d.db"))
    assert out.returncode == 0, out.stderr
    sids = {json.loads(x)["alert"]["signature_id"] for x in out.stdout.splitlines()}
    assert {9000001, 9000002} <= sids and 9000003 not in sids
    errors = out.stderr.strip().splitlines()[:-1]
    assert len(errors) == 1 and errors[0].startswith(f"{bad}:3: ")
    assert "Traceback" not in out.stderr


def _bad_file(kind: str, tmp_path: Path) -> Path:
    path = tmp_path / f"{kind}.pcap"
    if kind == "empty":
        path.write_bytes(b"")
    elif kind == "random":
        path.write_bytes(random.Random(7).randbytes(4096))
    elif kind == "truncated":
        path.write_bytes(LAB_PCAP.read_bytes()[:1100])   # cut inside packet 9 of 10
    return path


@pytest.mark.parametrize("kind", ["missing", "empty", "random", "truncated"])
def test_bad_capture_files_are_one_line_errors(kind, tmp_path):
    path = _bad_file(kind, tmp_path)
    db = tmp_path / "d.db"
    out = dpictl_run("inspect", "--pcap", str(path), "-o", "eve", "--db", str(db))
    assert out.returncode != 0
    lines = out.stderr.strip().splitlines()
    assert len(lines) == 1, out.stderr
    assert lines[0].startswith("dpictl: error:") and "Traceback" not in out.stderr
    if kind == "truncated":
        # The alert found before the damage is kept: shown and stored.
        sids = [json.loads(x)["alert"]["signature_id"] for x in out.stdout.splitlines()]
        assert sids
        listed = json.loads(dpictl_run("alerts", "list", "-o", "json", "--db", str(db)).stdout)
        assert len(listed) == len(sids)


def test_no_loadable_rules_is_one_line(tmp_path):
    bad = tmp_path / "bad.rules"
    bad.write_text("this is not a rule\n")
    out = dpictl_run("inspect", "--pcap", str(LAB_PCAP), "-R", str(bad), "--db",
                     str(tmp_path / "d.db"))
    assert out.returncode != 0
    assert len(out.stderr.strip().splitlines()) == 1 and "no rules could be loaded" in out.stderr


def test_several_captures_pcapng_and_pcap_in_one_run(tmp_path):
    rules = tmp_path / "any.rules"
    rules.write_text('alert tcp any any -> any 80 (msg:"to port 80"; sid:9000010; rev:1;)\n')
    pcapng = SHARED / "pcaps" / "cs-http_post.pcapng"
    out = dpictl_run("inspect", "-r", str(pcapng), "-r", str(LAB_PCAP), "-R", str(rules),
                     "-o", "eve", "--db", str(tmp_path / "d.db"))
    assert out.returncode == 0, out.stderr
    pairs = {(e["src_ip"], e["dest_ip"]) for e in map(json.loads, out.stdout.splitlines())}
    assert pairs == {("172.16.16.128", "69.163.176.56"), ("10.244.1.10", "10.244.1.11")}
    assert "from cs-http_post.pcapng, lab-smk.pcap" in out.stderr.splitlines()[-1]


@pytest.mark.parametrize("home_net,expected", [("10.0.0.0/8", 1), ("192.168.0.0/16", 0)])
def test_var_applies_to_builtin_rules(tmp_path, home_net, expected):
    out = dpictl_run("inspect", "--pcap", str(LAB_PCAP), "--var", f"HOME_NET={home_net}",
                     "-o", "json", "--no-store", "--db", str(tmp_path / "d.db"))
    assert out.returncode == 0, out.stderr
    assert len(json.loads(out.stdout)) == expected
