"""What `get` prints, kubectl-alike: columns per kind, ages, `-o name|yaml|json`.

Plain strings only (no rich): the same text goes to a terminal, a pipe or a test, and a
script written against kubectl's output reads dpictl's the same way.
"""

from __future__ import annotations

import json
from datetime import datetime, timezone

import yaml

from dpictl.resources.kinds import BY_KIND

_PAD = 3  # kubectl's tabwriter padding


def parse_timestamp(text: str | None) -> datetime | None:
    if not text:
        return None
    try:
        return datetime.fromisoformat(text.replace("Z", "+00:00"))
    except ValueError:
        return None


def human_duration(seconds: float) -> str:
    """kubectl's HumanDuration: 45s, 5m30s, 3h5m, 2d4h, 400d, 3y20d."""
    s = int(seconds)
    if s < -1:
        return "<invalid>"
    if s < 0:
        return "0s"
    if s < 120:
        return f"{s}s"
    m = s // 60
    if m < 10:
        return f"{m}m{s % 60}s" if s % 60 else f"{m}m"
    if m < 180:
        return f"{m}m"
    h = m // 60
    if h < 8:
        return f"{h}h{m % 60}m" if m % 60 else f"{h}h"
    if h < 48:
        return f"{h}h"
    if h < 24 * 8:
        return f"{h // 24}d{h % 24}h" if h % 24 else f"{h // 24}d"
    if h < 24 * 365 * 2:
        return f"{h // 24}d"
    y, d = h // (24 * 365), (h // 24) % 365
    if y < 8:
        return f"{y}y{d}d" if d else f"{y}y"
    return f"{y}y"


def _age(obj: dict, now: datetime) -> str:
    created = parse_timestamp(obj.get("metadata", {}).get("creationTimestamp"))
    return human_duration((now - created).total_seconds()) if created else "<unknown>"


def _pod_row(obj: dict, now: datetime, wide: bool) -> list[str]:
    status = obj.get("status") or {}
    statuses = status.get("containerStatuses") or []
    total = len((obj.get("spec") or {}).get("containers") or []) or len(statuses)
    ready = sum(1 for c in statuses if c.get("ready"))
    restarts = sum(int(c.get("restartCount", 0)) for c in statuses)
    row = [obj["metadata"]["name"], f"{ready}/{total}", status.get("phase", "Unknown"),
           str(restarts), _age(obj, now)]
    if wide:
        row += [status.get("podIP") or "<none>",
                (obj.get("spec") or {}).get("nodeName") or "<none>", "<none>", "<none>"]
    return row


def table(kind: str, objects: list[dict], *, wide: bool = False, all_namespaces: bool = False,
          now: datetime | None = None) -> tuple[list[str], list[list[str]]]:
    """(headers, rows) for `get` of one kind."""
    now = now or datetime.now(timezone.utc)
    if kind == "Pod":
        headers = ["NAME", "READY", "STATUS", "RESTARTS", "AGE"]
        if wide:
            headers += ["IP", "NODE", "NOMINATED NODE", "READINESS GATES"]
        rows = [_pod_row(o, now, wide) for o in objects]
    elif kind == "Namespace":
        headers = ["NAME", "STATUS", "AGE"]
        rows = [[o["metadata"]["name"], (o.get("status") or {}).get("phase", "Active"),
                 _age(o, now)] for o in objects]
    else:
        headers = ["NAME", "CREATED AT"]
        rows = [[o["metadata"]["name"], o["metadata"].get("creationTimestamp", "")]
                for o in objects]
    if all_namespaces and BY_KIND[kind].namespaced:
        headers = ["NAMESPACE", *headers]
        rows = [[o["metadata"].get("namespace", ""), *r] for o, r in zip(objects, rows)]
    return headers, rows


def format_table(headers: list[str], rows: list[list[str]]) -> str:
    """Columns padded like kubectl's tabwriter (3 spaces), one line per row."""
    widths = [max(len(r[i]) for r in [headers, *rows]) for i in range(len(headers))]
    lines = []
    for row in [headers, *rows]:
        cells = [cell.ljust(widths[i] + _PAD) for i, cell in enumerate(row[:-1])]
        lines.append(("".join(cells) + row[-1]).rstrip())
    return "\n".join(lines) + "\n"


def object_name(obj: dict) -> str:
    """`-o name`: deeppacketinspection.projectcalico.org/red-dpi-all, pod/red1."""
    return f"{BY_KIND[obj['kind']].qualified}/{obj['metadata']['name']}"


def as_list(objects: list[dict]) -> dict:
    return {"apiVersion": "v1", "items": objects, "kind": "List",
            "metadata": {"resourceVersion": ""}}


def to_json(data: dict) -> str:
    return json.dumps(data, indent=4, sort_keys=True) + "\n"


def to_yaml(data: dict) -> str:
    return yaml.safe_dump(data, sort_keys=True, default_flow_style=False)


__all__ = ["table", "format_table", "human_duration", "object_name", "as_list", "to_json",
           "to_yaml", "parse_timestamp"]
