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
AgentNamespaceOpt: Optional[str] = typer.Option(
    None, "--agent-namespace", help="the agent's namespace, where its flow logs are "
                                    "(kubernetes backend; default dpictl-system).")
DbOpt: Optional[Path] = typer.Option(
    None, "--db", envvar="DPICTL_DB",
    help="SQLite file for alerts and local cluster state "
         "(default: $XDG_STATE_HOME/dpictl/dpictl.db).")
# Bounds of integer options: SQLite and the kernel take 64-bit integers at most, so an
# unbounded `--limit 99999999999999999999999` reached them as an OverflowError (exit 1).
MAX_SID = 2**32 - 1          # Snort sids and gids are 32-bit unsigned
MAX_LIMIT = 2**31 - 1
MAX_TIMEOUT = 7 * 86400.0    # seconds; a week is past any command anyone waits for

NamespaceOpt: Optional[str] = typer.Option(None, "--namespace", "-n", help="Namespace.")


# The filters `alerts list` and `alerts export` share.
SidFilterOpt = typer.Option(None, "--sid", min=1, max=MAX_SID, help="only this signature id.")
SinceFilterOpt = typer.Option(
    None, "--since", help="only alerts newer than this, e.g. 30s, 5m, 1h30m, 2d.")
PodFilterOpt = typer.Option(
    None, "--pod", help="only alerts whose source, destination or endpoint is this pod.")
LimitFilterOpt = typer.Option(None, "--limit", "-l", min=1, max=MAX_LIMIT,
                              help="only the newest N alerts.")
