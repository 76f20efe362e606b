"""`dpictl run-lab` and `dpictl lab up|down|status`: the Calico DPI lab as one command.

Thin: resolve the scenario, lock the state database's lab (`dpictl.lab.lock`: a second
command is refused), open the lab environment, call `dpictl.lab`, render. Progress goes to
stderr (so `-o json` on stdout stays clean); the report to stdout. A run whose expectations
did not all hold ends with ExpectationFailed (exit 7) after its report; one that SIGINT,
SIGTERM or SIGHUP ended - even during its clean-up, which completes - with Interrupted
(exit 128 + the signal).
"""

from __future__ import annotations

import json
from contextlib import contextmanager
from pathlib import Path
from typing import TYPE_CHECKING, Any, Callable, Iterator, List, Optional

import typer

from dpictl.cli import params
from dpictl.errors import (ClusterError, DpictlError, ExitCode, ExpectationFailed, InputError,
                           UsageError)

# rich and dpictl.lab load when a lab command runs, not with every other command.
if TYPE_CHECKING:
    from rich.console import Console

OUTPUTS = ("table", "json")
DEFAULT_SCENARIO = "red-blue"

class Interrupted(DpictlError):
    """A signal (Ctrl-C, SIGTERM, SIGHUP) during a run, after the clean-up ran; its exit code
    is set per signal (130, 143, 129). Raised as an error (not left to typer, which turns
    KeyboardInterrupt into a return value that `main()` does not pass on)."""

    exit_code = ExitCode.INTERRUPTED


lab_app = typer.Typer(help="The local lab: bring it up, look at it, take it down.",
                      no_args_is_help=True)


class ConsoleObserver:
    """The run's progress on stderr: a spinner with what happens now, a line per step."""

    def __init__(self, console: Console, scenario: str, total: int) -> None:
        self.console = console
        self.scenario = scenario
        self.total = total
        self._status = console.status(f"lab {scenario}", spinner="dots")

    def __enter__(self) -> "ConsoleObserver":
        self._status.start()
        return self

    def __exit__(self, *exc: object) -> None:
        self._status.stop()

    def step_started(self, index: int, total: int, title: str) -> None:
        self._status.update(f"[bold]{index + 1}/{total}[/] {title}")

    def step_finished(self, result) -> None:
        from dpictl.lab.render import step_line

        self.console.print(step_line(result), soft_wrap=True)

    def message(self, text: str) -> None:
        from rich.markup import escape

        self._status.update(escape(text))


def _render_report(report) -> None:
    from rich.console import Console

    from dpictl.cli.render.table import alerts_table
    from dpictl.cli.render.theme import THEME
    from dpictl.lab.render import traffic_table, verdict

    probe = Console()
    console = Console(theme=THEME, highlight=False,
                      width=None if probe.is_terminal else max(probe.width, 160))
    if report.alerts:
        console.print(alerts_table(report.alerts))
    else:
        console.print("no alerts", style="dim")
    if report.traffic:
        console.print(traffic_table(report))
    console.print(verdict(report))


def _render_status(status: dict) -> None:
    from rich.console import Console

    from dpictl.lab.render import status_tables

    console = Console(highlight=False)
    for part in status_tables(status):
        console.print(part)


def _scenario_path(name: str) -> Path:
    """A path as given, or the name of a scenario shipped with dpictl (never ./scenarios/)."""
    from dpictl.lab.scenario_file import resolve_scenario

    return resolve_scenario(name)


def _check_output(output: str) -> None:
    if output not in OUTPUTS:
        raise UsageError(f"unknown output {output!r}", hint="use one of: " + ", ".join(OUTPUTS))


def _check_rules(rules: list[Path]) -> list[Path]:
    for path in rules:
        if not path.exists():
            raise InputError(f"{path}: no such rules file")
    return [p.resolve() for p in rules]


@contextmanager
def _lab(backend: str, db: Optional[Path], kubeconfig: Optional[Path],
         context: Optional[str]) -> Iterator[Any]:
    """The lab environment of one command, closed again whatever happens."""
    from dpictl.lab import open_lab

    env = open_lab(backend, db=db, kubeconfig=kubeconfig, context=context)
    try:
        yield env
    finally:
        env.close()


@contextmanager
def _held_lab(command: str, backend: str, db: Optional[Path], kubeconfig: Optional[Path],
              context: Optional[str], err: "Console") -> Iterator[tuple[Any, Any]]:
    """The lab of one state database, locked for this command (a second one is refused and
    touches nothing), after removing what a dead run left: (lock, env)."""
    from dpictl.lab import remove_dead_run
    from dpictl.lab.lock import LabLock
    from dpictl.paths import default_db_path

    with LabLock(db or default_db_path(), command) as lock, \
            _lab(backend, db, kubeconfig, context) as env:
        for line in remove_dead_run(lock, env):
            err.print(line, highlight=False, markup=False, soft_wrap=True)
        yield lock, env


def _interrupted(command: str, exc: BaseException, what: str) -> Interrupted:
    """The error for a run a signal ended; its exit code is the shell's (128 + signal)."""
    from dpictl.lab.signals import as_interrupt

    signal = as_interrupt(exc)
    error = Interrupted(f"{command} interrupted ({signal.name}); {what}")
    error.exit_code = signal.exit_code
    return error


def _run_with_progress(command: str, scenario: str, backend: str, db: Optional[Path],
                       kubeconfig: Optional[Path], context: Optional[str],
                       step: Callable[[Any, Any, ConsoleObserver], Any]) -> tuple[Any, Any]:
    """Load the scenario, lock and open the lab and run `step(plan, env, observer)` with its
    progress on stderr: (plan, report). The lab is closed whatever happens; SIGINT, SIGTERM
    and SIGHUP become Interrupted (what the step created was already removed by then)."""
    from rich.console import Console

    from dpictl.lab import load_scenario
    from dpictl.lab.lock import CLEAN, KEPT
    from dpictl.lab.signals import signals_interrupt

    plan = load_scenario(_scenario_path(scenario))
    err = Console(stderr=True, highlight=False)
    try:
        with signals_interrupt(), \
                _held_lab(f"dpictl {command} {plan.name}", backend, db, kubeconfig, context,
                          err) as (lock, env):
            with ConsoleObserver(err, plan.name, len(plan.steps)) as observer:
                report = step(plan, env, observer)
            lock.leave_as = KEPT if report.kept else CLEAN
    except KeyboardInterrupt as exc:
        raise _interrupted(f"{command} {plan.name}", exc, "what it created was removed") \
            from None
    return plan, report


def _raise_if_interrupted(command: str, report) -> None:
    """A signal during the clean-up: the clean-up completed, the run still failed."""
    if report.interrupted:
        from dpictl.lab.signals import Interrupt

        raise _interrupted(f"{command} {report.scenario}", Interrupt.named(report.interrupted),
                           "it was remembered until the clean-up completed")


# Suricata translates, checks (`suricata -T`) and compiles the rules before it captures: with
# the 4017 community rules that is 15-40 s on a busy 2-core node, past most scenario timeouts.
SURICATA_TIMEOUT = 180.0
EngineOpt = typer.Option("python", "--engine", help="The agent's data plane: python (built "
                         "in) or suricata (Suricata 7 running the translated rules).")


def _use_engine(engine: str) -> None:
    """The local agent reads its engine from its config, which configure_agent fills from
    $DPICTL_ENGINE: set it here (after checking Suricata is usable, for a one-line error)."""
    import os

    if engine not in ("python", "suricata"):
        raise UsageError(f"unknown engine {engine!r}", hint="use --engine python or suricata")
    if engine == "suricata":
        from dpictl.suricata.binary import find_suricata

        find_suricata()
    os.environ["DPICTL_ENGINE"] = engine


def run_lab_cmd(
    scenario: str = typer.Argument(DEFAULT_SCENARIO, help="Scenario file, or a name from "
                                   "scenarios/ (default: red-blue, the Calico DPI lab)."),
    rules: Optional[List[Path]] = typer.Option(
        None, "--rules", "-r", help="Snort rule file(s) instead of the built-in rules "
        "(repeat for several)."),
    keep: bool = typer.Option(False, "--keep", help="Leave the lab up after the checks "
                              "(it is always cleaned up after an error or Ctrl-C)."),
    output: str = typer.Option("table", "--output", "-o", help="table or json."),
    timeout: Optional[float] = typer.Option(None, "--timeout", min=1.0,
                                            help="Seconds to wait for pods, the agent and "
                                            "alerts (default: the scenario's)."),
    backend: str = params.BackendOpt, kubeconfig: Optional[Path] = params.KubeconfigOpt,
    context: Optional[str] = params.ContextOpt, db: Optional[Path] = params.DbOpt,
    engine: str = EngineOpt,
) -> None:
    """Run a lab scenario end to end, check the alerts it expects, clean up."""
    from dpictl.lab import run_scenario

    _check_output(output)
    _use_engine(engine)
    if engine == "suricata" and timeout is None:
        timeout = SURICATA_TIMEOUT
    rule_files = _check_rules(list(rules or []))
    plan, report = _run_with_progress(
        "run-lab", scenario, backend, db, kubeconfig, context,
        lambda plan, env, observer: run_scenario(plan, env, rules=rule_files, keep=keep,
                                                 timeout=timeout, observer=observer))
    if output == "json":
        typer.echo(json.dumps(report.to_dict(), indent=2))
    else:
        _render_report(report)
    _raise_if_interrupted("run-lab", report)
    if report.error is not None and not isinstance(report.error, ClusterError):
        raise report.error            # e.g. not root: its own exit code and hint
    if not report.passed:
        failures = report.failures()
        raise ExpectationFailed(f"scenario {plan.name} failed: {failures[0]}"
                                + (f" (and {len(failures) - 1} more)" if len(failures) > 1
                                   else ""))


@lab_app.command("up")
def up_cmd(
    scenario: str = typer.Argument(DEFAULT_SCENARIO, help="Scenario whose set-up to run."),
    rules: Optional[List[Path]] = typer.Option(None, "--rules", "-r",
                                               help="Snort rule file(s) for the agent."),
    timeout: Optional[float] = typer.Option(None, "--timeout", min=1.0),
    backend: str = params.BackendOpt, kubeconfig: Optional[Path] = params.KubeconfigOpt,
    context: Optional[str] = params.ContextOpt, db: Optional[Path] = params.DbOpt,
    engine: str = EngineOpt,
) -> None:
    """Run a scenario's set-up (everything before its traffic) and leave it up."""
    from dpictl.lab import set_up_scenario

    _use_engine(engine)
    if engine == "suricata" and timeout is None:
        timeout = SURICATA_TIMEOUT
    # The rule files are checked once the lab is open: a bad scenario or an unreachable
    # cluster is reported first.
    plan, report = _run_with_progress(
        "lab up", scenario, backend, db, kubeconfig, context,
        lambda plan, env, observer: set_up_scenario(plan, env,
                                                    rules=_check_rules(list(rules or [])),
                                                    timeout=timeout, observer=observer))
    _raise_if_interrupted("lab up", report)
    if report.error is not None:
        raise report.error
    if report.failures():
        raise ExpectationFailed(f"lab set-up failed: {report.failures()[0]}")
    typer.echo(f"lab {plan.name} is up; send traffic with `dpictl exec`, see alerts with "
               "`dpictl alerts list`, take it down with `dpictl lab down`")


@lab_app.command("down")
def down_cmd(backend: str = params.BackendOpt,
             kubeconfig: Optional[Path] = params.KubeconfigOpt,
             context: Optional[str] = params.ContextOpt,
             db: Optional[Path] = params.DbOpt) -> None:
    """Stop the agent and remove everything the lab created (also after a crash)."""
    from rich.console import Console

    from dpictl.lab import take_down
    from dpictl.lab.lock import CLEAN
    from dpictl.lab.signals import signals_deferred

    err = Console(stderr=True, highlight=False)
    with _held_lab("dpictl lab down", backend, db, kubeconfig, context, err) as (lock, env), \
            signals_deferred() as deferred:
        lines = take_down(env)
        lock.leave_as = CLEAN
    if deferred.first is not None:
        raise _interrupted("lab down", deferred.first, "it was remembered until everything "
                           "was removed")
    for line in lines or ["nothing to remove"]:
        typer.echo(line)


@lab_app.command("status")
def status_cmd(output: str = typer.Option("table", "--output", "-o", help="table or json."),
               backend: str = params.BackendOpt,
               kubeconfig: Optional[Path] = params.KubeconfigOpt,
               context: Optional[str] = params.ContextOpt,
               db: Optional[Path] = params.DbOpt) -> None:
    """Namespaces, pods, DPI resources, the agent (pid, limits) and alert counts."""
    from dpictl.lab import lab_status

    _check_output(output)
    with _lab(backend, db, kubeconfig, context) as env:
        status = lab_status(env)
    if output == "json":
        typer.echo(json.dumps(status, indent=2, default=str))
    else:
        _render_status(status)


def register(app: typer.Typer) -> None:
    """Add `dpictl run-lab` and `dpictl lab` to the root app."""
    app.command("run-lab")(run_lab_cmd)
    app.add_typer(lab_app, name="lab")


__all__ = ["register", "lab_app", "run_lab_cmd"]
