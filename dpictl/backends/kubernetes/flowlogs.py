"""Flow logs on Kubernetes: each agent publishes its node's newest records as one ConfigMap
in its own namespace; `dpictl flows list --backend kubernetes` reads them all back.

A ConfigMap per node (`dpictl-flowlogs-<node>`, label `dpictl.io/flowlogs`) because an agent
writes only its own and nobody else writes it: no read-modify-write race between agents,
and RBAC stays within the agent's namespace. It holds the newest `MAX_RECORDS` records as
gzip'd JSON in `binaryData` (a few hundred bytes a record before compression), kept under the
1 MiB an object may hold; older records are dropped - this is a window on recent traffic,
as Calico's flow log files are, not an archive.
"""

from __future__ import annotations

import base64
import gzip
import json
from typing import Iterable

from dpictl.errors import NotFound
from dpictl.flowlogs.record import FlowLog

LABEL = "dpictl.io/flowlogs"
DATA_KEY = "flows.json.gz"
MAX_RECORDS = 2000
MAX_BYTES = 900_000
COUNTED_NETNS = "dpictl.io/counted-netns"


def configmap_name(node: str) -> str:
    # Node names are DNS subdomains, as ConfigMap names are; cap the length at 253.
    return f"dpictl-flowlogs-{node}"[:253].rstrip(".-")


def flowlogs_configmap(namespace: str, node: str, records: list[FlowLog],
                       counted_netns: list[int] | None = None) -> dict:
    """The ConfigMap holding the newest of `records` that fit (oldest dropped first).

    `counted_netns` names the netns (inode, device) whose kernel counts these records
    report, so that a restarted agent knows what it must not report twice."""
    kept = records[-MAX_RECORDS:]
    while True:
        data = gzip.compress(json.dumps([r.to_dict() for r in kept]).encode(), mtime=0)
        if len(data) * 4 // 3 <= MAX_BYTES or not kept:
            break
        kept = kept[len(kept) // 4 or 1:]
    return {"apiVersion": "v1", "kind": "ConfigMap",
            "metadata": {"name": configmap_name(node), "namespace": namespace,
                         "labels": {"app.kubernetes.io/part-of": "dpictl", LABEL: "true"},
                         "annotations": {"dpictl.io/node": node,
                                         "dpictl.io/records": str(len(kept)),
                                         COUNTED_NETNS: json.dumps(counted_netns)}},
            "binaryData": {DATA_KEY: base64.b64encode(data).decode("ascii")}}


def publish_flowlogs(backend, namespace: str, node: str, records: list[FlowLog],
                     counted_netns: list[int] | None = None) -> int:
    """Create or replace this node's ConfigMap; returns how many records it holds."""
    manifest = flowlogs_configmap(namespace, node, records, counted_netns)
    backend.apply(manifest)
    return int(manifest["metadata"]["annotations"]["dpictl.io/records"])


def read_node_flowlogs(backend, namespace: str, node: str) -> tuple[list[FlowLog], list | None]:
    """What an earlier agent of `node` published: its records and the netns it counted in
    (([], None) when there is none), so a restarted agent keeps them and counts on."""
    try:
        items = backend.objects.list(backend.ref("ConfigMap"), namespace,
                                     label_selector=LABEL)
    except NotFound:
        return [], None
    for item in items:
        meta = item.get("metadata") or {}
        if meta.get("name") != configmap_name(node):
            continue
        try:
            counted = json.loads((meta.get("annotations") or {}).get(COUNTED_NETNS) or "null")
        except ValueError:
            counted = None
        return _records(item), counted if isinstance(counted, list) else None
    return [], None


def _records(item: dict) -> list[FlowLog]:
    raw = (item.get("binaryData") or {}).get(DATA_KEY)
    if not raw:
        return []
    try:
        rows = json.loads(gzip.decompress(base64.b64decode(raw)))
        return [FlowLog.from_dict(r) for r in rows if isinstance(r, dict)]
    except (ValueError, OSError, TypeError):
        return []             # a damaged ConfigMap is skipped, not fatal to the listing


def read_flowlogs(backend, namespace: str) -> list[FlowLog]:
    """Every node's published records, oldest first; [] when no agent published any."""
    try:
        items = backend.objects.list(backend.ref("ConfigMap"), namespace,
                                     label_selector=LABEL)
    except NotFound:
        return []
    records: list[FlowLog] = []
    for item in items:
        records += _records(item)
    return sorted(records, key=lambda r: (r.end_time, r.start_time))


def filter_records(records: Iterable[FlowLog], namespace: str | None,
                   since: float | None) -> list[FlowLog]:
    """The store's filters, for records that did not come from the store."""
    return [r for r in records
            if (namespace is None or namespace in (r.source_namespace, r.dest_namespace))
            and (since is None or r.end_time >= since)]


__all__ = ["flowlogs_configmap", "publish_flowlogs", "read_flowlogs", "filter_records",
           "configmap_name", "LABEL", "MAX_RECORDS"]
