"""Run a scenario end to end: steps, traffic, a bounded wait for alerts, checks, clean-up.

Backend-agnostic: it uses only a `LabEnvironment` (Backend protocol + alerts source +
inspection control). The clean-up runs in `finally` with SIGINT, SIGTERM and SIGHUP deferred,
so a signal during a run - or during the clean-up itself - never leaves namespaces, pods or
kernel objects behind; one that arrives during the clean-up is remembered in
`report.interrupted` (the run then neither passes nor exits 0). `keep=True` only keeps a run
that got as far as checking its expectations.
"""

from __future__ import annotations

import time
from pathlib import Path
from typing import Sequence

from dpictl.alerts.record import Alert
from dpictl.backends.base import Backend
from dpictl.errors import ClusterError, NotFound
from dpictl.lab.environment import LabEnvironment
from dpictl.lab.expectations import counts_reached, evaluate
from dpictl.lab.report import FAILED, SKIPPED, LabReport, StepResult
from dpictl.lab.scenario import Scenario
from dpictl.lab.signals import signals_deferred
from dpictl.lab.steps import LabObserver, NullObserver, StepRunner

# After the expected alerts are in, wait this long for any that should not come.
SETTLE_SECONDS = 1.0
POLL_SECONDS = 0.1


def run_scenario(scenario: Scenario, env: LabEnvironment, *, rules: Sequence[Path] = (),
                 keep: bool = False, timeout: float | None = None,
                 observer: LabObserver | None = None) -> LabReport:
    """Run every step, wait for and check the alerts; the report says whether it passed."""
    observer = observer or NullObserver()
    timeout = timeout or scenario.timeout
    report = LabReport(scenario=scenario.name, backend=env.backend.name,
                       rules=[str(r) for r in rules] or ["builtin"],
                       expected_sids=sorted(scenario.signatures.expected(bool(rules))))
    started_wall, started = time.time(), time.monotonic()
    _require_fresh(scenario, env.backend)
    was_empty = _cluster_empty(env.backend)
    steps = StepRunner(env, timeout, observer)
    completed = False
    try:
        observer.message("starting the DPI agent")
        env.inspection.start(list(rules))
        if not _run_steps(scenario, steps, report, observer):
            return report
        if env.inspection.status().get("alerts_readable") is False:
            _report_dpi_status(scenario, env, steps, report)
            completed = True
            return report
        observer.message("waiting for alerts")
        alerts = _wait_for_alerts(env, steps, started_wall, timeout)
        observer.message("flushing flow logs")
        if not env.inspection.flush_flows():
            report.notes.append("flow logs were not flushed: the agent did not answer in "
                                "time; they appear after its next flowLogsFlushInterval")
        report.traffic = steps.traffic
        report.alerts = alerts
        report.problems += evaluate(steps.traffic, alerts,
                                    frozenset(report.expected_sids))
        completed = True
        return report
    finally:
        if keep and completed:
            report.kept = True
        else:
            observer.message("cleaning up")
            _clean_up(report, steps, env, was_empty)
        report.seconds = time.monotonic() - started


def set_up_scenario(scenario: Scenario, env: LabEnvironment, *, rules: Sequence[Path] = (),
                    timeout: float | None = None,
                    observer: LabObserver | None = None) -> LabReport:
    """Run the steps before the first traffic and leave them up (undone only on failure)."""
    observer = observer or NullObserver()
    timeout = timeout or scenario.timeout
    setup = [s for s in scenario.steps[:_first_traffic(scenario)]]
    report = LabReport(scenario=scenario.name, backend=env.backend.name,
                       rules=[str(r) for r in rules] or ["builtin"],
                       expected_sids=sorted(scenario.signatures.expected(bool(rules))))
    started = time.monotonic()
    _require_fresh(scenario, env.backend)
    was_empty = _cluster_empty(env.backend)
    steps = StepRunner(env, timeout, observer)
    ok = False
    try:
        env.inspection.start(list(rules))
        partial = Scenario(name=scenario.name, description=scenario.description,
                           steps=tuple(setup), signatures=scenario.signatures,
                           timeout=timeout)
        if _run_steps(partial, steps, report, observer):
            steps.wait_inspection()
            ok = True
        return report
    finally:
        if not ok:
            _clean_up(report, steps, env, was_empty)
        report.kept = ok
        report.seconds = time.monotonic() - started


def _report_dpi_status(scenario: Scenario, env: LabEnvironment, steps: StepRunner,
                       report: LabReport) -> None:
    """The cluster's own DPI (Calico's) inspects, and its alerts go to Calico's event store,
    which dpictl cannot read: report what Calico does publish, `status.nodes` of each
    DeepPacketInspection, and pass only when each is active on some node."""
    report.traffic = steps.traffic
    for result in report.traffic:
        result.checked = False
    report.notes.append("alerts go to the cluster's own DPI event store (Calico Manager: "
                        "Activity > Alerts); alert expectations were not checked here")
    for manifest in scenario.applied:
        if manifest.get("kind") != "DeepPacketInspection":
            continue
        meta = manifest.get("metadata") or {}
        name, ns = meta.get("name", ""), meta.get("namespace")
        try:
            obj = env.backend.get("DeepPacketInspection", namespace=ns, name=name)[0]
            nodes = (obj.get("status") or {}).get("nodes") or []
        except NotFound:
            nodes = []
        active = any((n.get("active") or {}).get("success") for n in nodes)
        report.dpi_status.append({"resource": f"{ns}/{name}", "active": active,
                                  "nodes": nodes})
        if not active:
            report.problems.append(f"DeepPacketInspection {ns}/{name} is not active on any "
                                   f"node (status.nodes: {len(nodes)} entries)")


def _first_traffic(scenario: Scenario) -> int:
    return next((i for i, s in enumerate(scenario.steps) if s.kind == "traffic"),
                len(scenario.steps))


def _run_steps(scenario: Scenario, steps: StepRunner, report: LabReport,
               observer: LabObserver) -> bool:
    total = len(scenario.steps)
    for i, step in enumerate(scenario.steps):
        observer.step_started(i, total, step.title)
        result = steps.run(step)
        report.steps.append(result)
        observer.step_finished(result)
        if result.status == FAILED:
            for rest in scenario.steps[i + 1:]:
                skipped = StepResult(name=rest.title, kind=rest.kind, status=SKIPPED)
                report.steps.append(skipped)
                observer.step_finished(skipped)
            report.traffic = steps.traffic
            return False
    return True


def _wait_for_alerts(env: LabEnvironment, steps: StepRunner, since: float,
                     timeout: float) -> list[Alert]:
    """Until every command has its expected alerts (bounded), then a short settle."""
    ips = set(steps.ips.values())
    deadline = time.monotonic() + timeout

    def relevant() -> list[Alert]:
        return [a for a in env.alerts.alerts(since=since)
                if a.source_ip in ips or a.dest_ip in ips]

    alerts = relevant()
    while not counts_reached(steps.traffic, alerts) and time.monotonic() < deadline:
        time.sleep(POLL_SECONDS)
        alerts = relevant()
    time.sleep(SETTLE_SECONDS)
    return relevant()


def _require_fresh(scenario: Scenario, backend: Backend) -> None:
    """A scenario creates its namespaces; it will not adopt (and later delete) existing ones."""
    for name in scenario.namespaces:
        try:
            backend.get("Namespace", name=name)
        except NotFound:
            continue
        raise ClusterError(f"namespace {name!r} already exists; the scenario creates it",
                           hint="remove it first (dpictl lab down, or dpictl delete ns "
                                f"{name})")


def _cluster_empty(backend: Backend) -> bool:
    return not backend.get("Pod", all_namespaces=True) and \
        not backend.get("DeepPacketInspection", all_namespaces=True)


def _finish(env: LabEnvironment, was_empty: bool) -> list[str]:
    try:
        return env.inspection.finish(env.backend, was_empty)
    except Exception as exc:  # clean-up reports, it does not mask the run's outcome
        return [f"could not finish clean-up: {exc}"]


def _clean_up(report: LabReport, steps: StepRunner, env: LabEnvironment,
              was_empty: bool) -> None:
    """Undo the steps and stop what the lab started; a signal meanwhile waits for the end."""
    with signals_deferred() as deferred:
        report.cleanup = steps.undo() + _finish(env, was_empty)
    if deferred.first is not None:
        report.interrupted = deferred.first.name


__all__ = ["run_scenario", "set_up_scenario", "SETTLE_SECONDS"]
