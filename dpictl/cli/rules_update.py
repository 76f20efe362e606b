"""`dpictl rules update`: fetch the sources, apply the policy, check, swap the managed ruleset.

Thin: a progress bar per download on stderr (only on a terminal), the library does the rest,
then the report: per source, the ruleset, and what changed since the last update.
"""

from __future__ import annotations

from contextlib import contextmanager
from pathlib import Path
from typing import TYPE_CHECKING, Iterator, Optional

import typer

from dpictl.cli import params

if TYPE_CHECKING:
    from rich.console import Console

    from dpictl.rulesets.update import ProgressFactory, UpdateReport

_SHOWN = 10     # ids listed per kind of change; more are counted


def update_cmd(backend: str = params.BackendOpt,
               kubeconfig: Optional[Path] = params.KubeconfigOpt,
               context: Optional[str] = params.ContextOpt,
               namespace: str = typer.Option("dpictl-system", "--namespace", "-n",
                                             help="The agent's namespace (kubernetes).")) -> None:
    """Fetch every enabled source, apply the policy and replace the managed ruleset.

    The new ruleset is parsed and compiled first; if anything fails the one in use stays.
    With --backend kubernetes it is then published as the ConfigMap dpictl-rules in the
    agent's namespace, which every DaemonSet agent reloads.
    """
    from dpictl.backends import check_backend
    from dpictl.rulesets import RulesDir
    from dpictl.rulesets.update import update

    backend = check_backend(backend)
    rules = RulesDir.default()
    err = console(stderr=True)
    with _download_progress(err) as progress:
        report = update(rules, progress=progress)
    out = console()
    print_report(out, report)
    if backend == "kubernetes":
        _publish(out, rules, kubeconfig, context, namespace)


def _publish(out: Console, rules, kubeconfig: Optional[Path], context: Optional[str],
             namespace: str) -> None:
    from dpictl.backends import open_backend
    from dpictl.backends.kubernetes.rules_configmap import CONFIGMAP, publish_ruleset
    from dpictl.cli.render.progress import print_line

    files = {"managed.rules": rules.managed.read_bytes()}
    if rules.threshold.exists():
        files["threshold.config"] = rules.threshold.read_bytes()
    backend = open_backend("kubernetes", kubeconfig=kubeconfig, context=context)
    try:
        _, verdict = publish_ruleset(backend, namespace, files)
    finally:
        backend.close()
    print_line(out, f"configmap/{CONFIGMAP} {verdict} in namespace {namespace}")


@contextmanager
def _download_progress(console: Console) -> Iterator[ProgressFactory | None]:
    if not console.is_terminal:
        yield None
        return
    from rich.progress import (BarColumn, DownloadColumn, Progress, TextColumn,
                               TransferSpeedColumn)

    bar = Progress(TextColumn("[bold]{task.description}"), BarColumn(), DownloadColumn(),
                   TransferSpeedColumn(), console=console, transient=True)
    with bar:
        def factory(source):
            task = bar.add_task(source.name, total=None)
            return lambda done, total: bar.update(task, completed=done, total=total)
        yield factory


def print_report(out: Console, report: UpdateReport) -> None:
    from dpictl.cli.render.progress import print_line

    for s in report.sources:
        state = "not modified" if s.not_modified else f"fetched {s.size:,} bytes"
        print_line(out, f"{s.name}: {state}, {s.files} file(s), {s.rules:,} rules")
    c = report.changes
    print_line(out, f"changes: {len(c.added)} added, {len(c.removed)} removed, "
                    f"{len(c.modified)} modified, {len(c.enabled)} enabled, "
                    f"{len(c.disabled)} disabled")
    for kind in ("added", "removed", "modified", "enabled", "disabled"):
        ids = getattr(c, kind)
        if ids and len(ids) <= _SHOWN:
            print_line(out, f"  {kind}: " + ", ".join(f"{g}:{s}" for g, s in ids))
    if report.flowbit_enabled:
        print_line(out, f"enabled {len(report.flowbit_enabled)} rule(s) that set flowbits "
                        "enabled rules test")
    unsupported = (f", {report.check.unsupported:,} of them unsupported by the engine"
                   if report.check.unsupported else "")
    print_line(out, f"ruleset: {report.total:,} rules, {report.enabled:,} enabled{unsupported}; "
                    f"written to {report.path} in {report.seconds['total']:.2f}s", "summary")


def console(stderr: bool = False) -> Console:
    """The rules commands' console; piped, it is wide enough not to fold rule messages."""
    from rich.console import Console

    from dpictl.cli.render.theme import THEME

    probe = Console(theme=THEME, stderr=stderr)
    width = None if probe.is_terminal else max(probe.width, 160)
    return Console(theme=THEME, highlight=False, stderr=stderr, width=width)


def register(rules_app: typer.Typer) -> None:
    rules_app.command("update")(update_cmd)


__all__ = ["register", "update_cmd", "print_report", "console"]
