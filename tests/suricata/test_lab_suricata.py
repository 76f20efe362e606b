"""The local agent on Suricata: the red/blue lab, selection changes, a dying Suricata, clean-up.

Root only (network namespaces). One run-lab with the Snort 3 community rules (the issue's
goal: 2/1/1/0, right endpoints, SID 21562), and one `lab up` with the built-in rules that
adds a pod (interface change: restart, blind time published), kills Suricata (reported in
status.nodes[].errorConditions, restarted) and takes the lab down (no Suricata left).
"""

from __future__ import annotations

import json
import os
import shutil
import signal
import subprocess
import sys
import time
from pathlib import Path

import pytest

pytestmark = [pytest.mark.root, pytest.mark.slow,
              pytest.mark.skipif(shutil.which("suricata") is None,
                                 reason="Suricata is not installed")]


def dpictl(*args: str, timeout: float = 400) -> subprocess.CompletedProcess:
    return subprocess.run([sys.executable, "-m", "dpictl", *args], capture_output=True,
                          text=True, timeout=timeout, env=dict(os.environ))


def test_run_lab_red_blue_with_snort3_rules_on_suricata(shared_dir, tmp_path):
    done = dpictl("run-lab", "--engine", "suricata", "--rules",
                  str(shared_dir / "rules" / "snort3-community.rules"), "-o", "json",
                  "--db", str(tmp_path / "lab.db"))
    assert done.returncode == 0, done.stdout[-3000:] + done.stderr[-3000:]
    report = json.loads(done.stdout)
    seen = {t["name"]: (t["seen"]["alerts"], sorted(t["seen"]["endpoints"]),
                        sorted(set(t["seen"]["sids"]))) for t in report["traffic"]}
    assert seen == {
        "red1->red2": (2, ["red/red1", "red/red2"], [21562]),
        "red1->blue1": (1, ["red/red1"], [21562]),
        "blue2->red2": (1, ["red/red2"], [21562]),
        "blue2->blue1": (0, [], []),
    }


def _status(db: Path) -> dict:
    return json.loads((Path(f"{db}.agent") / "status.json").read_text())


def _until(check, timeout: float = 120.0):
    end = time.monotonic() + timeout
    while time.monotonic() < end:
        try:
            value = check()
        except (OSError, KeyError, ValueError):
            value = None
        if value:
            return value
        time.sleep(0.3)
    raise AssertionError("timed out")


def test_selection_change_death_and_clean_up(tmp_path):
    db = tmp_path / "lab.db"
    up = dpictl("lab", "up", "--engine", "suricata", "--db", str(db))
    try:
        assert up.returncode == 0, up.stderr[-3000:]
        first = _until(lambda: _status(db)["suricata"]["pid"])
        assert len(_status(db)["suricata"]["interfaces"]) == 2        # red1, red2
        made = dpictl("run", "-n", "red", "red3", "--image", "x", "--labels", "app=red3",
                      "--db", str(db))
        assert made.returncode == 0, made.stderr
        grown = _until(lambda: len(_status(db)["suricata"]["interfaces"]) == 3
                       and _status(db)["suricata"])
        assert grown["pid"] != first and grown["last_restart_seconds"] > 0
        assert grown["last_blind_seconds"] == 0.0      # make before break
        os.kill(grown["pid"], signal.SIGKILL)
        again = _until(lambda: _status(db)["suricata"]["pid"] not in (None, grown["pid"])
                       and _status(db)["suricata"])
        assert again["failures"] == 1
        dpi = json.loads(dpictl("get", "deeppacketinspection", "-n", "red", "red-dpi-all",
                                "-o", "json", "--db", str(db)).stdout)
        messages = [c["message"] for n in dpi["status"]["nodes"]
                    for c in n.get("errorConditions") or []]
        assert any(f"Suricata (pid {grown['pid']}) exited: killed by SIGKILL" in m
                   for m in messages), messages
    finally:
        down = dpictl("lab", "down", "--db", str(db))
    assert down.returncode == 0, down.stderr
    left = subprocess.run(["pgrep", "-f", f"{db}.agent/suricata"], capture_output=True,
                          text=True)
    assert left.stdout.strip() == ""
    assert not (Path(f"{db}.agent") / "suricata" / "eve.fifo").exists()
