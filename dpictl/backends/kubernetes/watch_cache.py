"""A list+watch cache of one kind (what client-go calls an informer), in a daemon thread.

The agent reconciles every second; asking the API server for every pod every second would
load it for nothing. A watch keeps a local copy current instead: list once (remembering the
list's resourceVersion), then apply ADDED/MODIFIED/DELETED events; when the watch ends it is
resumed from the last version seen, and when that version has expired (410) or the API is
unreachable, the cache lists again after a back-off. Until the first list succeeds, reads
fall through to a direct list so the first reconcile is never empty for no reason.
"""

from __future__ import annotations

import logging
import threading
import time
from typing import Callable

from dpictl.backends.kubernetes.api_errors import Expired
from dpictl.backends.kubernetes.kinds import to_display
from dpictl.errors import DpictlError

log = logging.getLogger(__name__)

MAX_BACKOFF = 30.0


def _key(obj: dict) -> tuple[str, str]:
    meta = obj.get("metadata") or {}
    return (str(meta.get("namespace") or ""), str(meta.get("name") or ""))


class WatchCache:
    """Objects of `kind` (optionally filtered by field selector), kept current by a watch."""

    def __init__(self, backend, kind: str, field_selector: str | None = None,
                 watch_seconds: int = 60, on_change: Callable[[], None] | None = None) -> None:
        self.backend = backend
        self.kind = kind
        self.field_selector = field_selector
        self.watch_seconds = watch_seconds
        self.on_change = on_change
        self._items: dict[tuple[str, str], dict] = {}
        self._synced = threading.Event()
        self._stop = threading.Event()
        self._lock = threading.Lock()
        self._thread: threading.Thread | None = None
        self.last_error: str | None = None

    # -- reads ----------------------------------------------------------------------------

    def items(self) -> list[dict]:
        """The current objects; a direct list (which may raise) until the watch has synced."""
        if not self._synced.is_set():
            ref = self.backend.ref(self.kind)
            return [to_display(o) for o in
                    self.backend.objects.list(ref, None, field_selector=self.field_selector)]
        with self._lock:
            return list(self._items.values())

    @property
    def synced(self) -> bool:
        return self._synced.is_set()

    def wait_synced(self, timeout: float) -> bool:
        return self._synced.wait(timeout)

    # -- the watch thread -----------------------------------------------------------------

    def start(self) -> "WatchCache":
        if self._thread is None:
            self._thread = threading.Thread(target=self._run, name=f"watch-{self.kind}",
                                            daemon=True)
            self._thread.start()
        return self

    def stop(self) -> None:
        self._stop.set()

    def _run(self) -> None:
        backoff = 1.0
        version = ""
        while not self._stop.is_set():
            try:
                if not version:
                    version = self._relist()
                version = self._follow(version)
                backoff = 1.0
            except Expired:
                version = ""
            except DpictlError as exc:
                self.last_error = str(exc)
                log.warning("watching %s: %s (retrying in %.0fs)", self.kind, exc, backoff)
                self.backend.discovery.invalidate()     # the CRD may just have been installed
                version = ""
                self._stop.wait(backoff)
                backoff = min(backoff * 2, MAX_BACKOFF)

    def _relist(self) -> str:
        ref = self.backend.ref(self.kind)
        items, version = self.backend.objects.list_with_version(
            ref, None, field_selector=self.field_selector)
        with self._lock:
            self._items = {_key(o): to_display(o) for o in items}
        self._synced.set()
        self.last_error = None
        self._changed()
        return version

    def _follow(self, version: str) -> str:
        """Apply events until the server ends the watch; the last resourceVersion seen."""
        ref = self.backend.ref(self.kind)
        for event in self.backend.objects.watch(ref, None, version, self.field_selector,
                                                self.watch_seconds):
            if self._stop.is_set():
                break
            obj = event.get("object") or {}
            version = (obj.get("metadata") or {}).get("resourceVersion") or version
            kind = event.get("type")
            if kind == "BOOKMARK":
                continue
            with self._lock:
                if kind == "DELETED":
                    self._items.pop(_key(obj), None)
                else:
                    self._items[_key(obj)] = to_display(obj)
            self._changed()
        return version

    def _changed(self) -> None:
        if self.on_change is not None:
            try:
                self.on_change()
            except Exception as exc:  # a callback must not kill the watch
                log.warning("watch callback failed: %s", exc)


def wait_until(predicate: Callable[[], bool], timeout: float, interval: float = 0.1) -> bool:
    """Poll `predicate` until true or `timeout` seconds pass (tests and start-up)."""
    deadline = time.monotonic() + timeout
    while time.monotonic() < deadline:
        if predicate():
            return True
        time.sleep(interval)
    return predicate()


__all__ = ["WatchCache", "wait_until"]
