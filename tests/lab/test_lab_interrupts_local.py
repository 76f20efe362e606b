"""Issue 8, points 1-3, for real on the local netns cluster (root): SIGTERM and SIGHUP clean
up as Ctrl-C does; a signal during the clean-up is remembered (exit 130/143, "interrupted");
after kill -9 the next run removes the dead run's leftovers and says so; a second run-lab,
lab up or lab down on the same state is refused with one line naming the holder, and the
holder's run still passes. Netns are named `harda<hex>-*`; state lives under tmp_path."""

from __future__ import annotations

import json
import os
import secrets
import signal
import subprocess
import sys
import time
from pathlib import Path

import pytest
import yaml

from dpictl.alerts.store import AlertStore
from dpictl.backends.local import kernel
from lab.private_lab import DPICTL, PrivateLab
from lab.test_run_lab_local import RED_BLUE

pytestmark = pytest.mark.root

@pytest.fixture()
def lab(tmp_path):
    lab = PrivateLab(tmp_path)
    yield lab
    lab.cleanup()
    lab.assert_nothing_left()


def _waiting_scenario(tmp_path: Path) -> Path:
    """red-blue, expecting an alert that never comes, so the run waits for alerts."""
    doc = yaml.safe_load(RED_BLUE.read_text())
    doc["steps"][6]["traffic"][0]["expect"] = {"alerts": 50}
    path = tmp_path / "waits.yaml"
    path.write_text(yaml.safe_dump(doc))
    return path


@pytest.mark.parametrize("signum", [signal.SIGTERM, signal.SIGHUP], ids=["TERM", "HUP"])
def test_signal_while_pods_come_up_cleans_up_like_ctrl_c(lab, signum):
    proc = lab.start("run-lab")
    lab.wait_for(lambda: len(lab.netns()) >= 3)
    proc.send_signal(signum)
    out, err = proc.communicate(timeout=60)
    name = signal.Signals(signum).name
    assert proc.returncode == 128 + signum, err
    assert err.strip().splitlines()[-1] == (
        f"dpictl: error: run-lab red-blue interrupted ({name}); what it created was removed")
    lab.assert_nothing_left()
    again = lab.run("-o", "json")                    # the next run finds a fresh lab
    assert again.returncode == 0, again.stderr[-2000:]
    lab.assert_nothing_left()


def test_sigterm_while_waiting_for_alerts_cleans_up(lab, tmp_path):
    proc = lab.start("run-lab", str(_waiting_scenario(tmp_path)), "--timeout", "120")
    lab.wait_for(lambda: lab.alert_count() >= 1)     # the traffic ran; it waits for more
    proc.send_signal(signal.SIGTERM)
    out, err = proc.communicate(timeout=60)
    assert proc.returncode == 143, err
    assert "interrupted (SIGTERM)" in err.strip().splitlines()[-1]
    lab.assert_nothing_left()


def test_sigint_during_clean_up_is_remembered(lab, tmp_path):
    """The run ends (its expectation fails fast); Ctrl-C once the clean-up removes netns."""
    proc = lab.start("run-lab", "-o", "json")
    lab.wait_for(lambda: len(lab.netns()) >= 5)
    lab.wait_for(lambda: len(lab.netns()) < 5, timeout=120)    # the clean-up has begun
    proc.send_signal(signal.SIGINT)
    out, err = proc.communicate(timeout=60)
    assert proc.returncode == 130, err
    doc = json.loads(out)
    assert doc["interrupted"] == "SIGINT" and doc["passed"] is False
    assert doc["problems"][0] == "interrupted by SIGINT (the clean-up completed)"
    assert err.strip().splitlines()[-1] == (
        "dpictl: error: run-lab red-blue interrupted (SIGINT); it was remembered until the "
        "clean-up completed")
    lab.assert_nothing_left()                        # the clean-up did complete


def test_after_kill_9_the_next_run_removes_the_dead_runs_leftovers(lab):
    proc = lab.start("run-lab")
    lab.wait_for(lambda: len(lab.netns()) >= 5)
    proc.kill()
    proc.communicate(timeout=30)
    assert lab.netns(), "kill -9 left nothing to recover from"
    again = lab.run("-o", "json")
    assert again.returncode == 0, again.stderr[-2000:]
    assert f"removed the leftovers of a dead run (pid {proc.pid} (dpictl run-lab red-blue) " \
           "is gone):" in again.stderr
    assert "removed netns" in again.stderr
    assert json.loads(again.stdout)["passed"] is True
    lab.assert_nothing_left()


def test_a_second_command_is_refused_and_the_holders_run_still_passes(lab):
    holder = lab.start("run-lab", "-o", "json")
    lab.wait_for(lambda: len(lab.netns()) >= 3)
    expected = (f"dpictl: error: the lab of {lab.db} is in use by pid {holder.pid} "
                "(dpictl run-lab red-blue) (wait for it to end, or stop it: its clean-up then "
                "runs)")
    others = [lab.start(*args) for args in (["run-lab"], ["lab", "up"], ["lab", "down"])]
    for second in others:
        out, err = second.communicate(timeout=60)
        assert second.returncode == 6, err
        assert err.strip().splitlines() == [expected]     # one line
    assert holder.poll() is None, "the holder ended before the others were refused"
    out, err = holder.communicate(timeout=120)
    assert holder.returncode == 0, err[-2000:]
    assert json.loads(out)["passed"] is True
    lab.assert_nothing_left()


def test_keep_leaves_a_kept_lab_not_a_dead_run(lab):
    """A lab left up on purpose is not removed behind the user's back by the next run."""
    kept = lab.run("--keep", "-o", "json")
    assert kept.returncode == 0, kept.stderr[-2000:]
    again = lab.run()
    assert again.returncode == 6
    assert "namespace 'red' already exists" in again.stderr
    assert "dead run" not in again.stderr
    assert len(lab.netns()) >= 5
