"""`dpictl agent run --backend kubernetes`: the DaemonSet's entry point, as a library call.

Wires the Kubernetes source (watches) and sink (Events + EVE) to the backend-agnostic
`run_agent` loop. The node name comes from the caller (`--node`, or NODE_NAME which the
DaemonSet sets from spec.nodeName): it decides which pods this agent inspects.
"""

from __future__ import annotations

import logging
import os
import socket
from pathlib import Path
from typing import Sequence, TextIO

from dpictl.agent.kube_rules import start_rules_sync
from dpictl.agent.kube_sink import KubeSink
from dpictl.agent.kube_source import KubeSource
from dpictl.agent.runtime import run_agent

log = logging.getLogger(__name__)


def default_node_name() -> str:
    """NODE_NAME (set by the DaemonSet from spec.nodeName), else this host's name."""
    return os.environ.get("NODE_NAME") or socket.gethostname()


def run_kube_agent(backend, *, node: str, netns: str | None = None,
                   rules: Sequence[Path] = (), eve_out: TextIO | None = None,
                   reconcile_interval: float = 1.0, capture_factory=None,
                   publish=None, workers: int | None = None, flow_logs: bool = True) -> None:
    """Run until SIGTERM/SIGINT: inspect the pods on `node` that DPI resources select, and
    (`flow_logs`) publish flow logs of every pod on it."""
    source = KubeSource(backend, node=node, netns=netns).start()
    sink = KubeSink(backend, eve_out=eve_out)
    rule_paths = tuple(rules)
    # no --rules: the ruleset `dpictl rules update --backend kubernetes` published
    sync = None if rule_paths else start_rules_sync(backend)
    log.info("dpictl agent on node %s (API %s, DPI in %s)", node, backend.conn.server,
             _dpi_group(backend))
    planes: dict = {"capture_factory": capture_factory, "workers": workers}
    if os.environ.get("DPICTL_ENGINE") == "suricata" and capture_factory is None:
        from dpictl.suricata.agent_plane import suricata_plane   # the DaemonSet's --engine

        planes.update(suricata_plane(Path(os.environ.get("DPICTL_STATE", "/var/lib/dpictl"))
                                     / "suricata", netns))
    flows = None
    if flow_logs:
        from dpictl.agent.flow_logs import start_kube_flow_logs

        # Every workload of this node, not only DPI-selected ones (a thread of its own).
        flows = start_kube_flow_logs(backend, source, node, netns)
    try:
        run_agent(source, sink, node=node, netns=netns, rule_paths=lambda: rule_paths,
                  publish=publish, reconcile_interval=reconcile_interval, **planes)
    finally:
        if flows is not None:
            flows.stop()
        source.stop()
        if sync is not None:
            sync.stop()


def _dpi_group(backend) -> str:
    try:
        return backend.dpi_api_version()
    except Exception as exc:  # not fatal: the watch retries until the CRD appears
        return f"nowhere yet ({exc})"


__all__ = ["run_kube_agent", "default_node_name"]
