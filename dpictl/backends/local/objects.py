"""API-server bookkeeping for stored manifests: uid, timestamps, resourceVersion, generation,
apply outcomes and JSON merge patches (RFC 7386), kept apart from any storage or kernel work.
"""

from __future__ import annotations

import copy
import uuid
from datetime import datetime, timezone
from typing import Any

_USER_META = ("labels", "annotations")


def now_rfc3339() -> str:
    return datetime.now(timezone.utc).strftime("%Y-%m-%dT%H:%M:%SZ")


def merge_patch(target: Any, patch: Any) -> Any:
    """RFC 7386: objects merge key by key, null deletes, anything else replaces."""
    if not isinstance(patch, dict):
        return copy.deepcopy(patch)
    out = dict(target) if isinstance(target, dict) else {}
    for key, value in patch.items():
        if value is None:
            out.pop(key, None)
        else:
            out[key] = merge_patch(out.get(key), value)
    return out


def stamp_new(manifest: dict, resource_version: str, now: str | None = None) -> dict:
    """A stored object made from a validated manifest."""
    obj = copy.deepcopy(manifest)
    meta = obj["metadata"]
    meta["uid"] = str(uuid.uuid4())
    meta["creationTimestamp"] = now or now_rfc3339()
    meta["resourceVersion"] = resource_version
    if obj["kind"] != "Namespace":
        meta["generation"] = 1
    return obj


def _user_view(obj: dict) -> tuple:
    meta = obj.get("metadata", {})
    return (obj.get("spec"), *(meta.get(k) or {} for k in _USER_META))


def apply_update(old: dict, manifest: dict, resource_version: str) -> tuple[dict, str]:
    """(object, "configured"|"unchanged") for an apply over an existing object."""
    if _user_view(old) == _user_view(manifest):
        return old, "unchanged"
    obj = copy.deepcopy(old)
    if "spec" in manifest:
        obj["spec"] = copy.deepcopy(manifest["spec"])
    for key in _USER_META:
        if manifest["metadata"].get(key):
            obj["metadata"][key] = copy.deepcopy(manifest["metadata"][key])
        else:
            obj["metadata"].pop(key, None)
    return bump(old, obj, resource_version), "configured"


def bump(old: dict, new: dict, resource_version: str) -> dict:
    """New resourceVersion; generation +1 when the spec changed (as the API server does)."""
    meta = new["metadata"]
    meta["resourceVersion"] = resource_version
    for key in ("uid", "creationTimestamp"):
        if key in old.get("metadata", {}):
            meta[key] = old["metadata"][key]
    if "generation" in old.get("metadata", {}):
        changed = old.get("spec") != new.get("spec")
        meta["generation"] = int(old["metadata"]["generation"]) + (1 if changed else 0)
    return new





def json_patch(target: dict, operations: Any) -> dict:
    """RFC 6902 `add`, `replace`, `remove` (what `kubectl patch --type=json` is used for)."""
    from dpictl.errors import UsageError

    if not isinstance(operations, list):
        raise UsageError("a JSON patch must be a list of operations")
    doc = copy.deepcopy(target)
    for op in operations:
        if not isinstance(op, dict) or op.get("op") not in ("add", "replace", "remove"):
            raise UsageError(f"unsupported JSON patch operation {op!r}",
                             hint="use add, replace or remove, or --type=merge")
        parts = [p.replace("~1", "/").replace("~0", "~")
                 for p in str(op.get("path", "")).split("/")[1:]]
        if not parts:
            raise UsageError(f"JSON patch path {op.get('path')!r} is invalid")
        parent: Any = doc
        for part in parts[:-1]:
            parent = parent[int(part)] if isinstance(parent, list) else parent.setdefault(part, {})
        last = parts[-1]
        if isinstance(parent, list):
            index = len(parent) if last == "-" else int(last)
            if op["op"] == "remove":
                parent.pop(index)
            elif op["op"] == "add":
                parent.insert(index, copy.deepcopy(op.get("value")))
            else:
                parent[index] = copy.deepcopy(op.get("value"))
        elif op["op"] == "remove":
            if last not in parent:
                raise UsageError(f"JSON patch: nothing at {op['path']} to remove")
            del parent[last]
        else:
            parent[last] = copy.deepcopy(op.get("value"))
    return doc


__all__ = ["now_rfc3339", "merge_patch", "json_patch", "stamp_new", "apply_update", "bump"]
