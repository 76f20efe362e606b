"""Generic object operations (get, list, apply, patch, delete, status) for any served kind.

`apply` is server-side apply (field manager `dpictl`): the API server merges, so dpictl needs no
last-applied annotation and an identical apply leaves resourceVersion alone, which is how
"unchanged" is told from "configured".
"""

from __future__ import annotations

import json
from typing import Any, Iterator

from dpictl.backends.kubernetes.api_errors import Unsupported
from dpictl.backends.kubernetes.connection import Connection
from dpictl.backends.kubernetes.discovery import ResourceRef
from dpictl.errors import ManifestError, NotFound

FIELD_MANAGER = "dpictl"
PATCH_TYPES = {
    "merge": "application/merge-patch+json",
    "json": "application/json-patch+json",
    "strategic": "application/strategic-merge-patch+json",
}
# Read-only metadata the server owns; sending it back would pin or reject an apply.
_SERVER_METADATA = ("resourceVersion", "uid", "creationTimestamp", "managedFields",
                    "generation", "selfLink", "deletionTimestamp", "deletionGracePeriodSeconds")


def _same_content(live: dict, wanted: dict) -> bool:
    """True when every field of `wanted` (but metadata bookkeeping) already equals `live`."""
    for key, value in wanted.items():
        if key == "metadata":
            for mkey in ("labels", "annotations"):
                if (value.get(mkey) or {}) != (live.get("metadata", {}).get(mkey) or {}):
                    return False
        elif live.get(key) != value:
            return False
    return True


def clean_for_output(obj: dict, ref: ResourceRef) -> dict:
    """A manifest as kubectl shows it: apiVersion and kind set, managedFields hidden."""
    obj.setdefault("apiVersion", ref.api_version)
    obj.setdefault("kind", ref.kind)
    obj.get("metadata", {}).pop("managedFields", None)
    return obj


def clean_for_apply(manifest: dict, ref: ResourceRef) -> dict:
    """The manifest as it may be sent: served apiVersion, no server-owned metadata/status."""
    body = json.loads(json.dumps(manifest))          # deep copy, and proves it is JSON-able
    body["apiVersion"] = ref.api_version
    meta = body.setdefault("metadata", {})
    for key in _SERVER_METADATA:
        meta.pop(key, None)
    if not ref.namespaced:
        meta.pop("namespace", None)
    body.pop("status", None)
    return body


class Objects:
    """CRUD on ResourceRefs through one Connection."""

    def __init__(self, conn: Connection) -> None:
        self.conn = conn

    def get(self, ref: ResourceRef, name: str, namespace: str | None = None) -> dict:
        obj = self.conn.request("GET", ref.path(namespace, name),
                                action=ref.action("get", namespace, name))
        return clean_for_output(obj, ref)

    def find(self, ref: ResourceRef, name: str, namespace: str | None = None) -> dict | None:
        try:
            return self.get(ref, name, namespace)
        except NotFound:
            return None

    def list(self, ref: ResourceRef, namespace: str | None = None,
             label_selector: str | None = None, field_selector: str | None = None) -> list[dict]:
        query: list[tuple[str, Any]] = []
        if label_selector:
            query.append(("labelSelector", label_selector))
        if field_selector:
            query.append(("fieldSelector", field_selector))
        answer = self.conn.request("GET", ref.path(namespace), query=query,
                                   action=ref.action("list", namespace))
        return [clean_for_output(item, ref) for item in answer.get("items", [])]

    def list_with_version(self, ref: ResourceRef, namespace: str | None = None,
                          field_selector: str | None = None) -> tuple[list[dict], str]:
        """Items and the list's resourceVersion, to start a watch from."""
        query = [("fieldSelector", field_selector)] if field_selector else []
        answer = self.conn.request("GET", ref.path(namespace), query=query,
                                   action=ref.action("list", namespace))
        items = [clean_for_output(i, ref) for i in answer.get("items", [])]
        return items, str((answer.get("metadata") or {}).get("resourceVersion", ""))

    def watch(self, ref: ResourceRef, namespace: str | None = None,
              resource_version: str = "", field_selector: str | None = None,
              timeout_seconds: int = 60) -> Iterator[dict]:
        query: list[tuple[str, Any]] = []
        if resource_version:
            query.append(("resourceVersion", resource_version))
        if field_selector:
            query.append(("fieldSelector", field_selector))
        for event in self.conn.watch(ref.path(namespace), query=query,
                                     timeout_seconds=timeout_seconds,
                                     action=ref.action("watch", namespace)):
            if isinstance(event.get("object"), dict) and event.get("type") != "BOOKMARK":
                clean_for_output(event["object"], ref)
            yield event

    def apply(self, ref: ResourceRef, manifest: dict, dry_run: bool = False) -> tuple[dict, str]:
        """Server-side apply; (object, "created"|"configured"|"unchanged")."""
        body = clean_for_apply(manifest, ref)
        meta = body["metadata"]
        name = meta.get("name")
        if not name:
            raise ManifestError(f"{ref.kind} manifest has no metadata.name")
        namespace = meta.get("namespace") if ref.namespaced else None
        if ref.namespaced and not namespace:
            namespace = meta["namespace"] = "default"
        before = self.find(ref, name, namespace)
        query: list[tuple[str, Any]] = [("fieldManager", FIELD_MANAGER), ("force", "true")]
        if dry_run:
            query.append(("dryRun", "All"))
        try:
            after = self.conn.request(
                "PATCH", ref.path(namespace, name), query=query, body=json.dumps(body),
                content_type="application/apply-patch+yaml",
                action=ref.action("patch", namespace, name))
        except Unsupported:
            after = self._create_or_replace(ref, body, before, namespace, dry_run)
        clean_for_output(after, ref)
        if before is None:
            return after, "created"
        same = (before.get("metadata", {}).get("resourceVersion")
                == after.get("metadata", {}).get("resourceVersion"))
        return after, "unchanged" if same else "configured"

    def _create_or_replace(self, ref: ResourceRef, body: dict, before: dict | None,
                           namespace: str | None, dry_run: bool) -> dict:
        """Apply without server-side apply (an aggregated API that lacks it): POST, or PUT
        the manifest over the live object, keeping its status and resourceVersion."""
        query = [("fieldManager", FIELD_MANAGER)] + ([("dryRun", "All")] if dry_run else [])
        name = body["metadata"]["name"]
        if before is None:
            return self.conn.request("POST", ref.path(namespace), query=query, body=body,
                                     action=ref.action("create", namespace, name))
        merged = dict(body)
        merged["metadata"] = {**before.get("metadata", {}), **body["metadata"]}
        if "status" in before:
            merged["status"] = before["status"]
        if _same_content(before, merged):
            return before
        return self.conn.request("PUT", ref.path(namespace, name), query=query, body=merged,
                                 action=ref.action("update", namespace, name))

    def create(self, ref: ResourceRef, manifest: dict) -> dict:
        body = clean_for_apply(manifest, ref)
        namespace = body["metadata"].get("namespace") if ref.namespaced else None
        obj = self.conn.request("POST", ref.path(namespace), body=body,
                                action=ref.action("create", namespace,
                                                  body["metadata"].get("name")))
        return clean_for_output(obj, ref)

    def patch(self, ref: ResourceRef, name: str, patch: Any, namespace: str | None = None,
              patch_type: str = "merge", subresource: str | None = None) -> dict:
        content_type = PATCH_TYPES.get(patch_type)
        if content_type is None:
            raise ManifestError(f"unknown patch type {patch_type!r}",
                                hint="use one of: " + ", ".join(PATCH_TYPES))
        obj = self.conn.request("PATCH", ref.path(namespace, name, subresource), body=patch,
                                content_type=content_type,
                                action=ref.action("patch", namespace, name, subresource))
        return clean_for_output(obj, ref)

    def update_status(self, ref: ResourceRef, obj: dict) -> dict:
        """PUT the status subresource (optimistic: carries resourceVersion, 409 on a race)."""
        meta = obj.get("metadata", {})
        namespace = meta.get("namespace") if ref.namespaced else None
        body = dict(obj, apiVersion=ref.api_version, kind=ref.kind)
        answer = self.conn.request("PUT", ref.path(namespace, meta["name"], "status"),
                                   body=body,
                                   action=ref.action("update", namespace, meta["name"],
                                                     "status"))
        return clean_for_output(answer, ref)

    def delete(self, ref: ResourceRef, name: str, namespace: str | None = None) -> None:
        self.conn.request("DELETE", ref.path(namespace, name),
                          body={"kind": "DeleteOptions", "apiVersion": "v1",
                                "propagationPolicy": "Background"},
                          action=ref.action("delete", namespace, name))


__all__ = ["Objects", "FIELD_MANAGER", "PATCH_TYPES", "clean_for_apply", "clean_for_output"]
