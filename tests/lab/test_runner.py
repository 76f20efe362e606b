"""The runner on an in-memory environment: pass/fail verdicts, the JSON shape, clean-up on
failure and on Ctrl-C, and --keep."""

from __future__ import annotations

import os
import signal
from pathlib import Path

import pytest
import yaml

from dpictl.lab import load_scenario, parse_scenario, run_scenario
from dpictl.lab import runner as runner_mod
from lab.fakes import fake_env

ROOT = Path(__file__).resolve().parents[2]
RED_BLUE = ROOT / "scenarios" / "red-blue.yaml"


@pytest.fixture(autouse=True)
def quick(monkeypatch):
    monkeypatch.setattr(runner_mod, "SETTLE_SECONDS", 0.0)


def test_red_blue_passes_with_2_1_1_0():
    env = fake_env()
    report = run_scenario(load_scenario(RED_BLUE), env, timeout=2)
    assert report.passed, report.failures()
    seen = {t.name: (t.seen_alerts, t.seen_endpoints) for t in report.traffic}
    assert seen == {"red1->red2": (2, ["red/red1", "red/red2"]),
                    "red1->blue1": (1, ["red/red1"]),
                    "blue2->red2": (1, ["red/red2"]),
                    "blue2->blue1": (0, [])}
    # cleaned up: the fake cluster was empty before, so it is taken down again
    assert env.backend.downed and not env.backend.pods
    assert ("finish", True) in env.inspection.calls
    # flow logs are flushed once the traffic is done, before the clean-up
    calls = env.inspection.calls
    assert calls.count("flush_flows") == 1
    assert calls.index("flush_flows") < calls.index(("finish", True))


def test_flow_logs_the_agent_did_not_flush_are_said_in_the_report():
    env = fake_env()
    env.inspection.flush_flows = lambda: False          # the agent did not answer in time
    report = run_scenario(load_scenario(RED_BLUE), env, timeout=2)
    assert report.passed                   # alerts decide the verdict; flow logs are a note
    assert any("flow logs were not flushed" in note for note in report.notes)
    assert not any("flow logs" in note
                   for note in run_scenario(load_scenario(RED_BLUE), fake_env(),
                                            timeout=2).notes)


def test_json_shape():
    report = run_scenario(load_scenario(RED_BLUE), fake_env(), timeout=2)
    doc = report.to_dict()
    assert doc["scenario"] == "red-blue" and doc["passed"] is True
    assert [s["status"] for s in doc["steps"]] == ["ok"] * 7
    assert len(doc["alerts"]) == 4
    assert {a["origin"] for a in doc["alerts"]} == {"dpi.red/red-dpi-all"}
    assert all(a["record"]["snort_signature_id"] == "1000001" for a in doc["alerts"])
    assert {t["name"]: t["seen"]["alerts"] for t in doc["traffic"]} == {
        "red1->red2": 2, "red1->blue1": 1, "blue2->red2": 1, "blue2->blue1": 0}


def test_wrong_sid_fails_with_custom_rules(tmp_path):
    rules = tmp_path / "x.rules"
    rules.write_text("")
    report = run_scenario(load_scenario(RED_BLUE), fake_env(sid=1000001), rules=[rules],
                          timeout=2)
    assert not report.passed
    assert any("SID 1000001 is not the expected 21562" in f for f in report.failures())


def test_wrong_expected_count_fails():
    doc = yaml.safe_load(RED_BLUE.read_text())
    doc["steps"][6]["traffic"][3]["expect"] = {"alerts": 1}
    report = run_scenario(parse_scenario(yaml.safe_dump(doc)), fake_env(), timeout=0.3)
    assert not report.passed
    assert report.failures() == ["blue2->blue1: expected 1 alert, saw 0 alerts"]


def test_failed_step_skips_the_rest_and_cleans_up():
    env = fake_env()
    env.backend.create_namespace("other")          # the cluster was not empty
    env.backend.run_pod("other", "x", "img", {})

    def boom(ns, pod, argv):
        raise __import__("dpictl.errors").errors.ClusterError("exec refused")
    env.backend.exec_hook = boom
    report = run_scenario(load_scenario(RED_BLUE), env, timeout=1, keep=True)
    assert not report.passed
    assert report.steps[-1].status == "failed"
    assert not report.kept
    assert not any(k[1] in ("red", "blue") for k in env.backend.objects)
    assert ("Namespace", "", "other") in env.backend.objects       # not ours: kept
    assert not env.backend.downed


def test_ctrl_c_cleans_up():
    env = fake_env()

    def interrupt(ns, pod, argv):
        raise KeyboardInterrupt
    env.backend.exec_hook = interrupt
    with pytest.raises(KeyboardInterrupt):
        run_scenario(load_scenario(RED_BLUE), env, timeout=1)
    assert env.backend.downed and not env.backend.pods


def test_keep_leaves_the_lab_up():
    env = fake_env()
    report = run_scenario(load_scenario(RED_BLUE), env, timeout=2, keep=True)
    assert report.passed and report.kept
    assert len(env.backend.pods) == 4 and not env.backend.downed


def test_existing_namespace_is_refused():
    env = fake_env()
    env.backend.create_namespace("red")
    with pytest.raises(Exception, match="namespace 'red' already exists"):
        run_scenario(load_scenario(RED_BLUE), env, timeout=1)


def test_optional_step_the_cluster_does_not_serve_is_skipped_not_failed():
    """A cluster without Calico has no FelixConfiguration: the lab goes on without it."""
    from dpictl.errors import NotFound

    env = fake_env()

    def no_felix(*args, **kwargs):
        raise NotFound("FelixConfiguration is not served by this cluster")
    env.backend.patch = no_felix
    report = run_scenario(load_scenario(RED_BLUE), env, timeout=2)
    assert report.passed, report.failures()
    assert report.steps[0].status == "skipped"
    assert "not served" in report.steps[0].detail


def test_required_step_that_is_not_found_fails():
    from dpictl.errors import NotFound

    doc = yaml.safe_load(RED_BLUE.read_text())
    doc["steps"][0].pop("optional")
    env = fake_env()

    def no_felix(*args, **kwargs):
        raise NotFound("FelixConfiguration is not served by this cluster")
    env.backend.patch = no_felix
    report = run_scenario(parse_scenario(yaml.safe_dump(doc)), env, timeout=1)
    assert not report.passed
    assert report.steps[0].status == "failed"


def _calico_inspects(env, active: bool):
    """The cluster's own DPI (Calico's) inspects: its alerts are not readable here, and it
    reports through status.nodes on the DeepPacketInspection."""
    env.inspection.status = lambda: {"running": True, "provider": "calico",
                                     "alerts_readable": False}
    original_apply = env.backend.apply

    def apply(manifest):
        obj, verdict = original_apply(manifest)
        if manifest.get("kind") == "DeepPacketInspection":
            obj["status"] = {"nodes": [{"node": "node-1", "active": {"success": active}}]}
        return obj, verdict
    env.backend.apply = apply


def test_where_calico_inspects_the_dpi_status_decides():
    env = fake_env()
    _calico_inspects(env, active=True)
    report = run_scenario(load_scenario(RED_BLUE), env, timeout=1)
    assert report.passed, report.failures()
    doc = report.to_dict()
    assert doc["dpi_status"] == [{"resource": "red/red-dpi-all", "active": True,
                                  "nodes": [{"node": "node-1", "active": {"success": True}}]}]
    assert all(t["checked"] is False for t in doc["traffic"])
    assert any("not checked" in n for n in doc["notes"])


def test_where_calico_inspects_an_inactive_dpi_fails():
    env = fake_env()
    _calico_inspects(env, active=False)
    report = run_scenario(load_scenario(RED_BLUE), env, timeout=0.3)
    assert not report.passed
    # the traffic waits for the resource to be active first, and says why it did not start
    assert any("red/red-dpi-all did not become active" in f for f in report.failures())


@pytest.mark.parametrize("signum", [signal.SIGINT, signal.SIGTERM, signal.SIGHUP])
def test_a_signal_during_clean_up_is_remembered_and_the_clean_up_completes(signum):
    env = fake_env()
    finish = env.inspection.finish

    def signalled_finish(backend, was_empty):
        os.kill(os.getpid(), signum)          # arrives while the clean-up runs
        return finish(backend, was_empty)
    env.inspection.finish = signalled_finish
    report = run_scenario(load_scenario(RED_BLUE), env, timeout=2)
    assert env.backend.downed and not env.backend.pods          # completed
    assert report.interrupted == signal.Signals(signum).name
    assert not report.passed and report.to_dict()["interrupted"] == report.interrupted
    assert report.failures()[0].startswith("interrupted by ")
    assert signal.getsignal(signal.SIGTERM) == signal.SIG_DFL    # handlers restored


@pytest.mark.parametrize("signum", [signal.SIGTERM, signal.SIGHUP])
def test_sigterm_and_sighup_during_a_run_clean_up_like_ctrl_c(signum):
    from dpictl.lab.signals import Interrupt, signals_interrupt

    env = fake_env()

    def signalled(ns, pod, argv):
        os.kill(os.getpid(), signum)
    env.backend.exec_hook = signalled
    with pytest.raises(Interrupt) as caught, signals_interrupt():
        run_scenario(load_scenario(RED_BLUE), env, timeout=1)
    assert caught.value.exit_code == 128 + signum
    assert env.backend.downed and not env.backend.pods
