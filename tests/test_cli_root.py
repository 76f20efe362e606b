"""The root of the CLI: version, the one-line error boundary, completions kept current."""

from __future__ import annotations

import os
import subprocess
import sys
from pathlib import Path

import pytest

from dpictl import __version__
from dpictl.cli import app
from dpictl.cli.completion import SHELLS, render

ROOT = Path(__file__).resolve().parents[1]


def _dpictl(*args: str, env: dict | None = None) -> subprocess.CompletedProcess:
    return subprocess.run([sys.executable, "-m", "dpictl", *args], capture_output=True,
                          text=True, timeout=120, env={**os.environ, **(env or {})})


def test_version_prints_package_version() -> None:
    out = _dpictl("--version")
    assert out.returncode == 0
    assert out.stdout.strip() == f"dpictl {__version__}"


# What a command group imports at module level every other command pays for at start-up, so
# the libraries behind the commands load inside them (`dpictl --version` stays near typer's cost).
_LAZY_MODULES = ("dpictl.rules", "dpictl.resources", "dpictl.backends", "dpictl.alerts",
                 "dpictl.lab", "dpictl.graph", "dpictl.engine", "dpictl.capture",
                 "dpictl.rulesets", "rich.console", "rich.table", "yaml")


def test_importing_the_cli_loads_no_command_library() -> None:
    probe = ("import sys, dpictl.cli; "
             f"print(' '.join(m for m in {_LAZY_MODULES!r} if m in sys.modules))")
    out = subprocess.run([sys.executable, "-c", probe], capture_output=True, text=True,
                         timeout=120)
    assert out.returncode == 0, out.stderr
    assert out.stdout.split() == []


@pytest.mark.parametrize("shell", SHELLS)
def test_completion_scripts_are_current(shell: str) -> None:
    committed = (ROOT / "completions" / f"dpictl.{shell}").read_text()
    assert committed == render(app, shell), (
        f"completions/dpictl.{shell} is stale: run `python scripts/gen_completions.py`")


def test_completions_name_every_top_level_command() -> None:
    import typer

    root = typer.main.get_command(app)
    script = render(app, "bash")
    for name in root.commands:  # type: ignore[attr-defined]
        assert name in script


def test_bash_completion_completes_a_subcommand(tmp_path: Path) -> None:
    script = ROOT / "completions" / "dpictl.bash"
    probe = (f'source {script}; COMP_WORDS=(dpictl comp); COMP_CWORD=1; '
             '_dpictl_complete; printf "%s\\n" "${COMPREPLY[@]}"')
    out = subprocess.run(["bash", "-c", probe], capture_output=True, text=True, timeout=30)
    assert out.stdout.split() == ["completion"]


def test_unknown_shell_is_one_line_error() -> None:
    out = _dpictl("completion", "tcsh")
    assert out.returncode != 0
    assert "Traceback" not in out.stderr
    assert len(out.stderr.strip().splitlines()) == 1
    assert "tcsh" in out.stderr
