"""`dpictl inspect --threshold-file`, and the managed threshold.config with the default rules."""

from __future__ import annotations

import json
from pathlib import Path

import pytest

from .in_process import run

PCAP = "cs-icmp_traceroute.pcapng"
PING = ('alert icmp any any -> any any (msg:"ping"; itype:8; icode:0; '
        'classtype:misc-activity; sid:1000384; rev:1;)\n')


def _count(out: str) -> int:
    return len(json.loads(out))


def test_threshold_file_limits_alerts(tmp_path: Path, shared_dir: Path,
                                      capsys: pytest.CaptureFixture) -> None:
    rules = tmp_path / "ping.rules"
    rules.write_text(PING)
    limit = tmp_path / "threshold.config"
    limit.write_text("threshold gen_id 1, sig_id 1000384, type limit, track by_src, count 2, "
                     "seconds 3600\n")
    base = ["inspect", "--pcap", str(shared_dir / "pcaps" / PCAP), "--rules", str(rules),
            "--no-store", "-o", "json"]
    code, out, _ = run(capsys, *base)
    assert code == 0 and _count(out) == 27
    code, out, _ = run(capsys, *base, "--threshold-file", str(limit))
    assert code == 0 and _count(out) == 2


def test_bad_threshold_file_is_one_line_exit_3(tmp_path: Path, shared_dir: Path,
                                               capsys: pytest.CaptureFixture) -> None:
    bad = tmp_path / "threshold.config"
    bad.write_text("suppress gen_id 1\n")
    code, out, err = run(capsys, "inspect", "--pcap", str(shared_dir / "pcaps" / PCAP),
                         "--threshold-file", str(bad), "--no-store")
    assert code == 3 and out == ""
    assert err == f"dpictl: error: {bad}:1: missing sig_id\n"


def test_default_rules_use_the_managed_threshold_config(tmp_path: Path, shared_dir: Path,
                                                        monkeypatch: pytest.MonkeyPatch,
                                                        capsys: pytest.CaptureFixture) -> None:
    managed = tmp_path / "rules"
    managed.mkdir()
    monkeypatch.setenv("DPICTL_RULES_DIR", str(managed))
    argv = ["inspect", "--pcap", str(shared_dir / "pcaps" / "lab-smk.pcap"), "--no-store",
            "-o", "json"]
    code, out, _ = run(capsys, *argv)
    assert code == 0 and _count(out) == 1                       # built-in sid 1000001
    (managed / "threshold.config").write_text("suppress gen_id 1, sig_id 1000001\n")
    code, out, _ = run(capsys, *argv)
    assert code == 0 and out.strip() in ("", "[]")
