"""The local daemon's composition root: LocalBackend + AlertStore + the shared agent loop.

One agent per state database, run as the child of its supervisor (`dpictl.agent.supervisor`,
which restarts it when it dies): it holds a lock for its lifetime (a second one started by a
race exits at once), writes its pid and status beside the database, captures inside the
cluster's node netns, and reads which rules to load from the config `configure_agent` wrote.
"""

from __future__ import annotations

import logging
import os
from pathlib import Path

from dpictl.agent.daemon import AgentPaths, hold_agent_lock, publish_status, read_config

log = logging.getLogger(__name__)

FLOW_LOGS_ENV = "DPICTL_FLOW_LOGS"


def run_local_agent(db: Path | str, workers: int | None = None) -> int:
    """Run the agent for this state database until SIGTERM; returns a process exit code.
    `workers`: inspection processes (None: one per CPU, capped by the cpu limit)."""
    from dpictl.agent.limits import AgentLimits
    from dpictl.agent.local_source import BackendSource
    from dpictl.agent.runtime import run_agent
    from dpictl.alerts.store import AlertStore
    from dpictl.backends import open_backend

    paths = AgentPaths.for_db(db)
    with hold_agent_lock(paths) as mine:
        if not mine:
            log.info("another agent already serves %s; exiting", paths.db)
            return 0
        paths.pid.write_text(f"{os.getpid()}\n")
        backend = open_backend("local", db=paths.db)
        store = AlertStore(paths.db)
        log.info("agent %d for %s: node %s, netns %s", os.getpid(), paths.db,
                 backend.node_name, backend.node_netns)
        planes: dict = {"workers": workers}
        if read_config(paths.db).get("engine") == "suricata":
            from dpictl.suricata.agent_plane import suricata_plane

            planes.update(suricata_plane(paths.dir / "suricata", backend.node_netns))
        from dpictl.agent.flow_logs import start_local_flow_logs

        # Flow logs cover every workload (not only what DPI selects): a thread of their own
        # reading the kernel's flow counters, so the capture loop is untouched. Flushed on
        # the way out.
        # DPICTL_FLOW_LOGS=0 leaves them out (benchmarks/bench_flowlogs.py compares).
        flows = (start_local_flow_logs(paths, backend.node_netns, backend.node_name)
                 if os.environ.get(FLOW_LOGS_ENV, "1") != "0" else None)
        try:
            run_agent(BackendSource(backend), store, node=backend.node_name,
                      netns=backend.node_netns, **planes,
                      rule_paths=lambda: read_config(paths.db).get("rules") or (),
                      limits=AgentLimits(os.getpid(), paths.cgroup_name),
                      publish=lambda status: publish_status(paths, status))
        finally:
            if flows is not None:
                flows.stop()
            store.close()
            backend.close()
            try:
                if int(paths.pid.read_text().strip()) == os.getpid():
                    paths.pid.unlink()
            except (OSError, ValueError):
                pass
            log.info("agent %d stopped", os.getpid())
    return 0


__all__ = ["run_local_agent"]
