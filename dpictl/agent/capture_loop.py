"""One capture thread for the whole node: every inspected interface, one packet source.

The controller decides which interfaces to watch; this loop owns the packet source (an
AF_PACKET source inside the node's network namespace) and reads it in a background thread,
handing every frame, tagged with its interface, to a callback. Interfaces are added to and
removed from the running source, so the cost grows with traffic, not with the number of pods.

`add()` opens or extends the source in the caller's thread, so when it returns without
error the socket is bound and packets are being kept - the controller reports a resource
active only then. If the source fails later (an interface vanished under it, a socket
error) the thread reports it, waits a second - as Calico restarts a failed Snort after 1 s -
and reopens on the interfaces still wanted, reporting any that can no longer be opened.
"""

from __future__ import annotations

import logging
import threading
from typing import Callable

from dpictl.capture.frame import LivePacketSource

log = logging.getLogger(__name__)

RETRY_SECONDS = 1.0


# Opens a source on these interfaces (raises, e.g. CaptureError, for one that is missing);
# called as open_source(ifaces, on_vanished=callback(iface)) - the source calls back, from
# the reading thread, when an interface it captured on disappears.
SourceFactory = Callable[..., LivePacketSource]
FrameCallback = Callable[[float, bytes, int, str | None], None]
ErrorCallback = Callable[[str | None, str], None]      # (interface or None, message)


class CaptureLoop:
    """Runs a LivePacketSource in a daemon thread; `add`/`remove` may be called at any time."""

    def __init__(self, open_source: SourceFactory, on_frame: FrameCallback,
                 on_error: ErrorCallback, retry: float = RETRY_SECONDS) -> None:
        self._open = open_source
        self._on_frame = on_frame
        self._on_error = on_error
        self._retry = retry
        self._wanted: set[str] = set()
        self._lock = threading.RLock()
        self._source: LivePacketSource | None = None
        self._closed_counts: dict[str, dict[str, int]] = {}   # of sources already closed
        self._stop = threading.Event()
        self._wake = threading.Event()
        self._thread: threading.Thread | None = None

    @property
    def interfaces(self) -> set[str]:
        with self._lock:
            return set(self._wanted)

    def stats(self) -> dict[str, dict[str, int]]:
        """Kernel counters per interface (`kernel_packets`, `kernel_drops`, `discarded`),
        cumulative across reopened sources, so a restart never makes drops disappear."""
        with self._lock:
            source = self._source
            current = _quietly_stats(source) if source is not None else {}
            out = {iface: dict(counts) for iface, counts in self._closed_counts.items()}
            for iface, counts in current.items():
                mine = out.setdefault(iface, {})
                for key, value in counts.items():
                    mine[key] = mine.get(key, 0) + value
            return out

    def add(self, iface: str) -> None:
        """Start capturing on `iface` now; raises what the source raises (e.g. CaptureError)."""
        with self._lock:
            if iface in self._wanted:
                return
            if self._source is None:
                self._source = self._open(sorted(self._wanted | {iface}),
                                          on_vanished=self._vanished)
            else:
                self._source.add(iface)
            self._wanted.add(iface)
        self._ensure_thread()
        self._wake.set()

    def remove(self, iface: str) -> list:
        """Stop capturing on `iface`. Returns no detections: the engines are the
        controller's (a WorkerPool, whose workers hold engines, returns theirs)."""
        with self._lock:
            if iface not in self._wanted:
                return []
            self._wanted.discard(iface)
            source = self._source
            if source is not None:
                try:
                    source.remove(iface)
                except Exception as exc:  # the interface may already be gone with its pod
                    log.debug("remove %s: %s", iface, exc)
        return []

    def _vanished(self, iface: str) -> None:
        """The source dropped an interface (its veth was deleted): forget it, and let the
        controller decide at its next reconcile whether that matters (pod gone: no)."""
        with self._lock:
            self._wanted.discard(iface)
        self._on_error(iface, f"interface {iface} vanished")

    def stop(self, timeout: float = 5.0) -> None:
        self._stop.set()
        self._wake.set()
        with self._lock:
            source = self._source
        if source is not None:
            _quietly(source.stop)
        if self._thread is not None:
            self._thread.join(timeout)
        with self._lock:
            if self._source is not None:
                _quietly(self._source.close)
                self._fold_counts(self._source)
                self._source = None

    def _ensure_thread(self) -> None:
        if self._thread is None or not self._thread.is_alive():
            self._thread = threading.Thread(target=self._run, name="dpictl-capture",
                                            daemon=True)
            self._thread.start()

    def _run(self) -> None:
        while not self._stop.is_set():
            with self._lock:
                source = self._source
            if source is None:
                if not self._reopen():
                    self._wake.wait(self._retry)
                    self._wake.clear()
                continue
            try:
                for ts, frame, linktype, iface in source:
                    self._on_frame(ts, frame, linktype, iface)
                    if self._stop.is_set():
                        break
                failure = None if self._stop.is_set() else "capture ended unexpectedly"
            except Exception as exc:
                failure = f"capture failed: {exc}"
            with self._lock:
                if self._source is source:
                    self._source = None
            _quietly(source.close)
            self._fold_counts(source)
            if failure:
                self._on_error(None, failure)
                self._stop.wait(self._retry)

    def _fold_counts(self, source: LivePacketSource) -> None:
        """Keep a closed source's final counts (close() reads them one last time)."""
        with self._lock:
            for iface, counts in _quietly_stats(source).items():
                mine = self._closed_counts.setdefault(iface, {})
                for key, value in counts.items():
                    mine[key] = mine.get(key, 0) + value

    def _reopen(self) -> bool:
        """Open on every wanted interface that still opens; drop and report the others."""
        with self._lock:
            good = sorted(self._wanted)
            while good and not self._stop.is_set():
                try:
                    self._source = self._open(good, on_vanished=self._vanished)
                    return True
                except Exception as exc:
                    bad = _failing_interface(exc, good)
                    if bad is None:
                        self._on_error(None, f"capture failed: {exc}")
                        return False
                    self._on_error(bad, f"cannot capture on {bad}: {exc}")
                    good.remove(bad)
                    self._wanted.discard(bad)
        return False


def _failing_interface(exc: Exception, candidates: list[str]) -> str | None:
    text = str(exc)
    for iface in candidates:
        if iface in text:
            return iface
    return candidates[0] if len(candidates) == 1 else None


def _quietly_stats(source: LivePacketSource) -> dict[str, dict[str, int]]:
    try:
        return source.stats()
    except OSError as exc:
        log.debug("capture stats: %s", exc)
        return {}


def _quietly(fn: Callable[[], object]) -> None:
    try:
        fn()
    except Exception as exc:
        log.debug("%s: %s", getattr(fn, "__name__", "call"), exc)


__all__ = ["CaptureLoop", "SourceFactory", "RETRY_SECONDS"]
