"""One capture thread for the whole node: every inspected interface, one packet source.

The controller decides which interfaces to watch; this loop owns the packet source (an
AF_PACKET source inside the node's network namespace) in a background thread and hands
every frame, tagged with its interface, to a callback. Interfaces are added and removed on
the running source, so the cost grows with traffic, not with the number of pods. If the
source fails (an interface vanished under it, a socket error) the loop reports the error,
waits a second - as Calico restarts a failed Snort after 1 s - and reopens the source on the
interfaces that are still wanted.
"""

from __future__ import annotations

import logging
import threading
from typing import Callable, Iterable, Iterator, Protocol

log = logging.getLogger(__name__)

RETRY_SECONDS = 1.0


class PacketSource(Protocol):
    """What `dpictl.capture.AfPacketSource` offers (and what test fakes implement)."""

    def __iter__(self) -> Iterator[tuple[float, bytes, int, str | None]]: ...

    def add(self, iface: str) -> None: ...

    def remove(self, iface: str) -> None: ...

    def stop(self) -> None: ...

    def close(self) -> None: ...


# Opens a source on these interfaces (may raise CaptureError for one that vanished).
SourceFactory = Callable[[list[str]], PacketSource]
FrameCallback = Callable[[float, bytes, int, str | None], None]
ErrorCallback = Callable[[str | None, str], None]      # (interface or None, message)


class CaptureLoop:
    """Runs a PacketSource in a daemon thread; `add`/`remove` may be called at any time."""

    def __init__(self, open_source: SourceFactory, on_frame: FrameCallback,
                 on_error: ErrorCallback, retry: float = RETRY_SECONDS) -> None:
        self._open = open_source
        self._on_frame = on_frame
        self._on_error = on_error
        self._retry = retry
        self._wanted: set[str] = set()
        self._lock = threading.Lock()
        self._source: PacketSource | None = None
        self._stop = threading.Event()
        self._wake = threading.Event()
        self._thread: threading.Thread | None = None

    @property
    def interfaces(self) -> set[str]:
        with self._lock:
            return set(self._wanted)

    def add(self, iface: str) -> None:
        """Start capturing on `iface`; raises what the source raises (e.g. CaptureError)."""
        with self._lock:
            if iface in self._wanted:
                return
            if self._source is not None:
                self._source.add(iface)
            self._wanted.add(iface)
        self._ensure_thread()
        self._wake.set()

    def remove(self, iface: str) -> None:
        with self._lock:
            if iface not in self._wanted:
                return
            self._wanted.discard(iface)
            source = self._source
        if source is not None:
            try:
                source.remove(iface)
            except Exception as exc:  # the interface may already be gone with its pod
                log.debug("remove %s: %s", iface, exc)

    def stop(self, timeout: float = 5.0) -> None:
        self._stop.set()
        self._wake.set()
        with self._lock:
            source = self._source
        if source is not None:
            try:
                source.stop()
            except Exception as exc:
                log.debug("stop source: %s", exc)
        if self._thread is not None:
            self._thread.join(timeout)

    def _ensure_thread(self) -> None:
        if self._thread is None or not self._thread.is_alive():
            self._thread = threading.Thread(target=self._run, name="dpictl-capture",
                                            daemon=True)
            self._thread.start()

    def _run(self) -> None:
        while not self._stop.is_set():
            with self._lock:
                wanted = sorted(self._wanted)
            if not wanted:
                self._wake.wait(0.5)
                self._wake.clear()
                continue
            try:
                self._pump(wanted)
            except Exception as exc:
                self._on_error(None, f"capture failed: {exc}")
                self._stop.wait(self._retry)

    def _pump(self, wanted: list[str]) -> None:
        source = self._open_surviving(wanted)
        if source is None:
            return
        try:
            for ts, frame, linktype, iface in _iterate(source):
                if self._stop.is_set():
                    break
                self._on_frame(ts, frame, linktype, iface)
        finally:
            with self._lock:
                self._source = None
            try:
                source.close()
            except Exception as exc:
                log.debug("close source: %s", exc)

    def _open_surviving(self, wanted: list[str]) -> PacketSource | None:
        """Open on every wanted interface that can be opened; report the others once."""
        good = list(wanted)
        while good:
            try:
                source = self._open(good)
            except Exception as exc:
                bad = _failing_interface(exc, good)
                if bad is None:
                    raise
                self._on_error(bad, f"cannot capture on {bad}: {exc}")
                good.remove(bad)
                with self._lock:
                    self._wanted.discard(bad)
                continue
            with self._lock:
                if self._stop.is_set():
                    source.close()
                    return None
                self._source = source
                # Interfaces added while the source was opening.
                for iface in self._wanted - set(good):
                    try:
                        source.add(iface)
                    except Exception as exc:
                        self._on_error(iface, f"cannot capture on {iface}: {exc}")
            return source
        return None


def _failing_interface(exc: Exception, candidates: list[str]) -> str | None:
    text = str(exc)
    for iface in candidates:
        if iface in text:
            return iface
    return candidates[0] if len(candidates) == 1 else None


def _iterate(source: Iterable) -> Iterator[tuple[float, bytes, int, str | None]]:
    yield from source


__all__ = ["CaptureLoop", "PacketSource", "SourceFactory", "RETRY_SECONDS"]
