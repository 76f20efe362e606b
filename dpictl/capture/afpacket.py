"""`AfPacketSource`: live capture on a set of interfaces, possibly inside a network namespace.

One TPACKET_V3 ring per interface (tpacket.py), all polled together with a self-pipe that
`stop()`, `add()` and `remove()` write to so a blocked reader wakes at once. Both directions are
captured: a packet socket bound to an interface receives what the interface sends
(PACKET_OUTGOING) as well as what it receives, unless `outgoing=False`.

Interfaces come and go with pods: `add(iface)`/`remove(iface)` work while another thread
iterates, and an interface that disappears (veth deleted) is dropped from the set and listed in
`.vanished` without disturbing the others.

Threads: one thread reads (iterates or calls `read`); any thread may call add/remove/stop/
close/stats. A lock is held while rings are walked, never while poll() sleeps.
"""

from __future__ import annotations

import errno
import os
import select
import socket
import threading
import time
from typing import Callable, Iterator

from dpictl.capture.frame import Frame
from dpictl.capture.netns import run_in_netns
from dpictl.capture.tpacket import PACKET_IGNORE_OUTGOING, SOL_PACKET, Ring
from dpictl.errors import CaptureError, NotFound, PermissionDenied

_ERROR_EVENTS = select.POLLERR | select.POLLHUP | select.POLLNVAL


class AfPacketSource:
    """Iterable of (ts, frame, linktype, iface) from live interfaces; see the module docstring.

    `block_size` x `block_count` bytes of ring per interface (default 256 KiB x 8 = 2 MiB);
    `block_timeout_ms` bounds how long a packet may wait in a partly filled block.
    `fanout_group`: sources (usually in different processes) opened with the same group id
    share each interface's packets by flow hash (PACKET_FANOUT), for one engine per core.
    `on_vanished(iface)` is called from the reading thread when an interface disappears.
    """

    def __init__(self, ifaces: list[str], netns: str | None = None, *, snaplen: int = 65535,
                 block_size: int = 1 << 18, block_count: int = 8, block_timeout_ms: int = 50,
                 outgoing: bool = True, fanout_group: int | None = None,
                 on_vanished: Callable[[str], None] | None = None) -> None:
        self.netns = netns
        self.on_vanished = on_vanished
        self.snaplen = snaplen
        self._geometry = dict(block_size=block_size, block_count=block_count,
                              block_timeout_ms=block_timeout_ms, snaplen=snaplen,
                              fanout_group=fanout_group)
        self.outgoing = outgoing
        self.vanished: list[str] = []
        self._rings: dict[str, Ring] = {}
        self._counts: dict[str, dict[str, int]] = {}
        self._lock = threading.RLock()
        self._stopped = threading.Event()
        self._generation = 0
        self._wake_r, self._wake_w = os.pipe2(os.O_NONBLOCK | os.O_CLOEXEC)
        try:
            for iface in ifaces:
                self.add(iface)
        except BaseException:
            self.close()
            raise

    # -- interface set ---------------------------------------------------------------------
    @property
    def ifaces(self) -> list[str]:
        with self._lock:
            return list(self._rings)

    def add(self, iface: str) -> None:
        """Start capturing on `iface` (no-op if already captured)."""
        with self._lock:
            if iface in self._rings:
                return
        ring = run_in_netns(self.netns, lambda: self._open(iface))
        with self._lock:
            if self._stopped.is_set() or iface in self._rings:
                ring.close()
                return
            self._rings[iface] = ring
            self._generation += 1
        self._wake()

    def remove(self, iface: str) -> bool:
        """Stop capturing on `iface`; False if it was not being captured."""
        with self._lock:
            ring = self._rings.pop(iface, None)
            if ring is None:
                return False
            self._generation += 1
            self._keep_counts(iface, ring)
            ring.close()
        self._wake()
        return True

    def stats(self) -> dict[str, dict[str, int]]:
        """Per interface, cumulative: `kernel_packets` (drops included), `kernel_drops` (the
        ring was full) and `discarded` (read but not handed on); see `Ring.statistics`.
        Interfaces removed or vanished keep their last counts, so totals never go down."""
        with self._lock:
            for iface, ring in self._rings.items():
                self._counts[iface] = ring.statistics()
            return {iface: dict(counts) for iface, counts in self._counts.items()}

    def quiesce(self) -> list[Frame]:
        """End of capture: stop the kernel queueing for us, then return every packet still
        in the rings. After this, `stats()` and the frames read agree exactly:
        read = kernel_packets - kernel_drops - discarded."""
        with self._lock:
            rings = list(self._rings.values())
            for ring in rings:
                ring.quiesce()
        # A partly filled block reaches us when its timeout retires it.
        time.sleep(2 * self._geometry["block_timeout_ms"] / 1000)
        out: list[Frame] = []
        with self._lock:
            for _ in range(2):
                for ring in self._rings.values():
                    ring.drain(out)
        return out

    # -- reading ---------------------------------------------------------------------------
    def read(self, timeout: float | None = None) -> list[Frame]:
        """Packets ready now, else wait up to `timeout` seconds (None: until some arrive or
        `stop()`). Returns [] on timeout and once stopped."""
        deadline = None if timeout is None else time.monotonic() + timeout
        poller, generation = None, -1
        while not self._stopped.is_set():
            with self._lock:
                out: list[Frame] = []
                for ring in self._rings.values():
                    ring.drain(out)
                if out:
                    return out
                if generation != self._generation:
                    poller, generation = self._poller()
            wait_ms = None
            if deadline is not None:
                remaining = deadline - time.monotonic()
                if remaining <= 0:
                    return []
                wait_ms = int(remaining * 1000) + 1
            events = poller.poll(wait_ms)
            self._drain_wake()
            self._handle_errors(events)
        return []

    def __iter__(self) -> Iterator[Frame]:
        try:
            while not self._stopped.is_set():
                yield from self.read(None)
        except KeyboardInterrupt:
            self.close()
            raise

    def stop(self) -> None:
        """Make the reader return; safe from any thread or a signal handler."""
        self._stopped.set()
        self._wake()

    def close(self) -> None:
        """Stop and release every socket and ring (their last counts are kept)."""
        self._close(keep_counts=True)

    def release(self) -> None:
        """Close this process's handles without reading the kernel counters.

        After a fork, the parent and the other workers hold copies of a worker's sockets;
        reading PACKET_STATISTICS resets the kernel's counters, so only the socket's owner
        may read them, or the owner's totals would silently miss what was read here.
        """
        self._close(keep_counts=False)

    def _close(self, keep_counts: bool) -> None:
        self.stop()
        with self._lock:
            for iface, ring in self._rings.items():
                if keep_counts:
                    self._keep_counts(iface, ring)
                ring.close()
            self._rings.clear()
            self._generation += 1
            for fd in (self._wake_r, self._wake_w):
                if fd >= 0:
                    os.close(fd)
            self._wake_r = self._wake_w = -1

    def __enter__(self) -> "AfPacketSource":
        return self

    def __exit__(self, *exc: object) -> None:
        self.close()

    # -- internals -------------------------------------------------------------------------
    def _open(self, iface: str) -> Ring:
        where = f" in network namespace {self.netns}" if self.netns else ""
        try:
            sock = socket.socket(socket.AF_PACKET, socket.SOCK_RAW, 0)
        except PermissionError:
            raise PermissionDenied("live capture needs root or CAP_NET_RAW",
                                   hint="run dpictl as root (sudo) or grant it CAP_NET_RAW"
                                   ) from None
        try:
            if not self.outgoing:
                sock.setsockopt(SOL_PACKET, PACKET_IGNORE_OUTGOING, 1)
            return Ring(sock, iface, **self._geometry)
        except OSError as exc:
            sock.close()
            if exc.errno in (errno.ENODEV, errno.ENXIO) or "name too long" in str(exc):
                ns = f" -n {self.netns}" if self.netns else ""
                raise NotFound(f"interface {iface} not found{where}",
                               hint=f"list interfaces with `ip{ns} link`") from None
            if exc.errno == errno.EPERM:
                raise PermissionDenied("live capture needs root or CAP_NET_RAW",
                                       hint="run dpictl as root (sudo)") from None
            raise CaptureError(f"cannot capture on {iface}{where}: {exc.strerror or exc}") from None
        except BaseException:
            sock.close()
            raise

    def _poller(self) -> tuple[select.poll, int]:
        poller = select.poll()
        poller.register(self._wake_r, select.POLLIN)
        for ring in self._rings.values():
            poller.register(ring.fileno(), select.POLLIN)
        return poller, self._generation

    def _handle_errors(self, events: list[tuple[int, int]]) -> None:
        """Drop rings whose interface vanished (a link merely going down keeps its ring)."""
        failed = {fd for fd, mask in events if mask & _ERROR_EVENTS and fd != self._wake_r}
        if not failed:
            return
        with self._lock:
            gone = []
            for iface, ring in self._rings.items():
                if ring.fileno() in failed:
                    ring.sock.getsockopt(socket.SOL_SOCKET, socket.SO_ERROR)  # clear sk_err
                    if not ring.still_bound():
                        gone.append(iface)
            for iface in gone:
                ring = self._rings.pop(iface)
                self._keep_counts(iface, ring)
                ring.close()
                self.vanished.append(iface)
            self._generation += 1
        for iface in gone:
            if self.on_vanished is not None:
                self.on_vanished(iface)

    def _keep_counts(self, iface: str, ring: Ring) -> None:
        try:
            self._counts[iface] = ring.statistics()
        except OSError:                 # the socket died with its interface: last known
            self._counts.setdefault(iface, {"kernel_packets": ring.packets,
                                            "kernel_drops": ring.drops,
                                            "discarded": ring.discarded})

    def _wake(self) -> None:
        try:
            os.write(self._wake_w, b"\0")
        except (BlockingIOError, OSError):
            pass                        # already awake (pipe full) or closed

    def _drain_wake(self) -> None:
        try:
            while os.read(self._wake_r, 512):
                pass
        except (BlockingIOError, OSError):
            pass


__all__ = ["AfPacketSource"]
