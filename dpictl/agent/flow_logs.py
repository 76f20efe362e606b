"""Flow logs in the local agent: the collector thread beside the capture loop, and how a
CLI command (run-lab) asks the running agent to flush now.

The collector gets its own backend handle (the capture loop's is not shared across threads)
for the endpoints and for FelixConfiguration `flowLogsFlushInterval`, read at every flush so
a patched interval applies from the next one. Each flush is recorded in
`<db>.agent/flowlogs.json`; `request_flush` sends SIGUSR1 and waits for a newer record.
"""

from __future__ import annotations

import json
import os
import signal
import time
from pathlib import Path

from dpictl.agent.daemon import AgentPaths, running_pid

FLUSH_SIGNAL = signal.SIGUSR1


def status_path(paths: AgentPaths) -> Path:
    return paths.dir / "flowlogs.json"


def start_local_flow_logs(paths: AgentPaths, netns: str, host: str):
    """Start the collector for the local cluster's node netns, writing into the state
    database; SIGUSR1 (installed here, in the main thread) flushes it."""
    from dpictl.agent.local_source import BackendSource
    from dpictl.backends import open_backend
    from dpictl.flowlogs.collector import FlowCollector
    from dpictl.flowlogs.store import FlowLogStore

    backend = open_backend("local", db=paths.db)
    source = BackendSource(backend)
    store = FlowLogStore(paths.db)

    def published(stats: dict) -> None:
        tmp = status_path(paths).with_suffix(f".{os.getpid()}.tmp")
        tmp.write_text(json.dumps({**stats, "pid": os.getpid()}, sort_keys=True))
        os.replace(tmp, status_path(paths))

    def release() -> None:
        store.close()
        backend.close()

    collector = FlowCollector(netns, backend.endpoints, store.write,
                              lambda: source.settings().flush_interval, host=host,
                              on_flush=published, on_stop=release)
    signal.signal(FLUSH_SIGNAL, lambda *_: collector.request_flush())
    return collector.start()


def request_flush(db: Path | str, timeout: float = 10.0) -> bool:
    """Ask the running local agent to flush its flow logs now and wait until it did.
    False when no agent runs (or it did not flush in time)."""
    paths = AgentPaths.for_db(db)
    pid = running_pid(paths)
    if pid is None:
        return False
    try:
        published = json.loads(paths.status.read_text()).get("pid")
    except (OSError, ValueError):
        published = None
    if published != pid:
        return False        # still starting: its SIGUSR1 handler may not be there yet
    asked = time.time()
    os.kill(pid, FLUSH_SIGNAL)
    deadline = time.monotonic() + timeout
    while time.monotonic() < deadline:
        try:
            stats = json.loads(status_path(paths).read_text())
            if stats.get("pid") == pid and (stats.get("flushed") or 0) >= asked:
                return True
        except (OSError, ValueError):
            pass
        time.sleep(0.05)
    return False


def flow_status(db: Path | str) -> dict | None:
    try:
        return json.loads(status_path(AgentPaths.for_db(db)).read_text())
    except (OSError, ValueError):
        return None


__all__ = ["start_local_flow_logs", "request_flush", "flow_status", "FLUSH_SIGNAL"]
