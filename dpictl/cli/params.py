"""Options shared by several commands, declared once so every command spells them the same."""

from __future__ import annotations

from pathlib import Path
from typing import Optional

import typer

BackendOpt = typer.Option(
    "local", "--backend", "-B", envvar="DPICTL_BACKEND",
    help="Where the workloads live: 'local' (netns cluster on this machine, needs root) "
         "or 'kubernetes' (a real cluster via kubeconfig).")
KubeconfigOpt: Optional[Path] = typer.Option(
    None, "--kubeconfig", envvar="KUBECONFIG", help="kubeconfig file (kubernetes backend).")
ContextOpt: Optional[str] = typer.Option(
    None, "--context", help="kubeconfig context (kubernetes backend).")
DbOpt: Optional[Path] = typer.Option(
    None, "--db", envvar="DPICTL_DB",
    help="SQLite file for alerts and local cluster state "
         "(default: $XDG_STATE_HOME/dpictl/dpictl.db).")
NamespaceOpt: Optional[str] = typer.Option(None, "--namespace", "-n", help="Namespace.")
