"""Flow logs in the agents: the collector thread beside the capture loop; on the local
cluster into the state database (and how run-lab asks the running agent to flush now), on
Kubernetes into the node's ConfigMap.

The collector gets its own backend handle (the capture loop's is not shared across threads)
for the endpoints and for FelixConfiguration `flowLogsFlushInterval`, read at every flush so
a patched interval applies from the next one. Each flush is recorded in
`<db>.agent/flowlogs.json`; `request_flush` sends SIGUSR1 and waits for a newer record.
"""

from __future__ import annotations

import json
import logging
import os
import signal
import time
from pathlib import Path

from dpictl.agent.daemon import AgentPaths, running_pid

log = logging.getLogger(__name__)

FLUSH_SIGNAL = signal.SIGUSR1


def status_path(paths: AgentPaths) -> Path:
    return paths.dir / "flowlogs.json"


def flush_request_path(paths: AgentPaths) -> Path:
    """Created by `request_flush`, taken (deleted) by the collector thread when it flushes."""
    return paths.dir / "flowlogs.flush"


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

    previous = flow_status(paths.db) or {}

    def counted_before(inode: tuple[int, int]) -> bool:
        # The agent before this one flushed in this very netns (it flushes when it stops):
        # what the kernel counted until now was reported. Otherwise (first agent, or a new
        # cluster) it is reported now, traffic from before the agent started included.
        return previous.get("netns_inode") == list(inode)

    collector = FlowCollector(netns, backend.endpoints, store.write,
                              lambda: source.settings().flush_interval, host=host,
                              on_flush=published, on_stop=release,
                              counted_before=counted_before,
                              flush_file=flush_request_path(paths))
    signal.signal(FLUSH_SIGNAL, lambda *_: collector.request_flush())
    return collector.start()


class ConfigMapFlowSink:
    """The kube agent's flow log sink: the newest records of this node, republished as its
    ConfigMap at every flush. A failed publish keeps them for the next one (bounded)."""

    def __init__(self, backend, namespace: str, node: str) -> None:
        from collections import deque

        from dpictl.backends.kubernetes.flowlogs import MAX_RECORDS, read_node_flowlogs

        self.backend = backend
        self.namespace = namespace
        self.node = node
        self.recent: deque = deque(maxlen=MAX_RECORDS)
        self.published = 0
        self.counting: list[int] | None = None      # the netns the collector reads
        # An agent before this one (restarted pod): keep its records, and know which netns
        # it had already reported, so that its counts are not reported twice.
        try:
            earlier, self.counted_before = read_node_flowlogs(backend, namespace, node)
        except Exception as exc:
            log.warning("could not read the earlier flow logs of node %s: %s", node, exc)
            earlier, self.counted_before = [], None
        self.recent.extend(earlier)

    def write(self, records) -> int:
        from dpictl.backends.kubernetes.flowlogs import publish_flowlogs

        self.recent.extend(records)
        try:
            self.published = publish_flowlogs(self.backend, self.namespace, self.node,
                                              list(self.recent), self.counting)
        except Exception as exc:
            log.warning("could not publish %d flow log record(s): %s", len(records), exc)
        return len(records)


def start_kube_flow_logs(backend, source, node: str, netns: str | None,
                         namespace: str | None = None):
    """Start the collector for this node (netns None: the agent's own, hostNetwork), its
    records published as ConfigMap `dpictl-flowlogs-<node>` in the agent's namespace."""
    from dpictl.backends.kubernetes.agent_manifests import DEFAULT_NAMESPACE
    from dpictl.backends.kubernetes.pods import endpoint_from_pod
    from dpictl.flowlogs.collector import FlowCollector

    sink = ConfigMapFlowSink(backend, namespace or os.environ.get("POD_NAMESPACE")
                             or DEFAULT_NAMESPACE, node)

    def endpoints():
        # Every pod (the peer of a local one may run elsewhere), from the source's watch
        # cache: no API call, and no interface lookup, which flow logs do not need.
        return [ep for ep in map(endpoint_from_pod, source.pods.items()) if ep is not None]

    def counted_before(inode: tuple[int, int]) -> bool:
        # Only when an earlier agent of this node published counts of this very netns:
        # otherwise what the kernel counted before the collector attached (traffic from
        # before the agent started) belongs to this first report, not to a baseline.
        sink.counting = list(inode)
        return sink.counted_before == list(inode)

    collector = FlowCollector(netns, endpoints, sink.write,
                              lambda: source.settings().flush_interval, host=node, node=node,
                              counted_before=counted_before)
    return collector.start()


def request_flush(db: Path | str, timeout: float = 20.0) -> bool:
    """Ask the running local agent to flush its flow logs now and wait until it did.
    False when no agent runs, or it did not flush in time.

    The request is a file the collector thread looks for at least once a second, plus
    SIGUSR1 to wake it at once when the signal reaches the main thread (see
    `FlowCollector.flush_file` for why the signal alone is not enough)."""
    paths = AgentPaths.for_db(db)
    deadline = time.monotonic() + timeout
    pid = running_pid(paths)
    if pid is None:
        return False
    asked = time.time()
    flush_request_path(paths).write_text(f"{asked}\n")
    signalled = False
    while time.monotonic() < deadline:
        if not signalled:
            try:
                published = json.loads(paths.status.read_text()).get("pid")
            except (OSError, ValueError):
                published = None
            if published == pid:        # started: its SIGUSR1 handler is installed
                try:
                    os.kill(pid, FLUSH_SIGNAL)
                except ProcessLookupError:
                    return False
                signalled = True
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


__all__ = ["start_local_flow_logs", "start_kube_flow_logs", "ConfigMapFlowSink",
           "request_flush", "flow_status", "FLUSH_SIGNAL"]
