"""The local netns cluster's lab parts: the SQLite alert store and the agent daemon
(put together with the LocalBackend by `dpictl.lab.builders.local_lab`)."""

from __future__ import annotations

import time
from pathlib import Path
from typing import Sequence

from dpictl.agent.daemon import (AgentPaths, agent_status, configure_agent, ensure_agent,
                                 read_config, stop_agent)
from dpictl.alerts.record import Alert
from dpictl.alerts.store import AlertStore
from dpictl.backends.base import Backend
from dpictl.errors import ClusterError


class StoreAlerts:
    """Alerts as the agent committed them to the state database."""

    def __init__(self, db: Path) -> None:
        self.db = db

    def alerts(self, since: float) -> list[Alert]:
        with AlertStore(self.db) as store:
            return store.query(since=since)


class LocalInspection:
    """The agent daemon of one state database."""

    def __init__(self, db: Path) -> None:
        self.db = db
        self.started_here = False

    def start(self, rules: Sequence[Path]) -> None:
        configure_agent(self.db, list(rules))
        self.started_here = agent_status(self.db)["pid"] is None
        ensure_agent(self.db)

    def changed(self) -> None:
        ensure_agent(self.db)

    def wait_ready(self, timeout: float) -> None:
        wanted = read_config(self.db).get("rules") or ["builtin"]
        deadline = time.monotonic() + timeout
        last_start = time.monotonic()
        while True:
            status = agent_status(self.db)
            if not status["running"] and time.monotonic() - last_start > 1.0:
                ensure_agent(self.db)      # it died (see its log); one retry per second
                last_start = time.monotonic()
            elif (status.get("rules") or {}).get("paths") == wanted:
                return
            if time.monotonic() >= deadline:
                log = AgentPaths.for_db(self.db).log
                raise ClusterError(f"the DPI agent did not load its rules within {timeout:g}s",
                                   hint=f"see its log: {log}")
            time.sleep(0.05)

    def status(self) -> dict:
        return agent_status(self.db)

    def flush_flows(self) -> bool:
        from dpictl.agent.flow_logs import request_flush

        return request_flush(self.db)

    def finish(self, backend: Backend, cluster_was_empty: bool) -> list[str]:
        """Stop the agent and take the cluster down when the lab brought it up."""
        if not cluster_was_empty:
            return []
        lines = []
        if stop_agent(self.db):
            lines.append("stopped the DPI agent")
        lines += backend.down()
        return lines


__all__ = ["StoreAlerts", "LocalInspection"]
