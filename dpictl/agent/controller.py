"""The DPI controller: resources x endpoints -> running monitors -> alerts.

Backend-agnostic: it reads a `ClusterSource`, writes an `AlertSink`, and drives a
`Dataplane`. `reconcile()` (called every second, or at once on SIGHUP) works out which
(resource, interface) pairs this node should inspect, starts and stops monitors to match,
and puts the result on each resource's `status.nodes[]`.

Each inspected interface has one engine fork, so a packet that crosses two inspected
interfaces alerts on both, as the lab expects; its detections go to every monitor of that
interface (two resources selecting one pod alert twice, from one inspection: the two would
see the same packets and reach the same verdicts). The engines live either here, fed by a
capture thread through `on_frame` (one worker), or in forked workers that share each
interface through PACKET_FANOUT and send detections back through `on_detections` (see
workers.py). Detections are queued and turned into alerts on the controller's thread by
`drain()`, so every database or API write happens on one thread and an alert is committed
before anyone can see it.
"""

from __future__ import annotations

import logging
import queue
import threading
import time
from dataclasses import dataclass, field
from typing import Any, Callable, Protocol

from dpictl.agent.alerting import AlertFactory
from dpictl.agent.selection import (MonitorKey, Selection, SelectorFactory,
                                    default_selector_factory, select)
from dpictl.agent.sources import ClusterSource
from dpictl.alerts.sink import AlertSink
from dpictl.backends.base import WorkloadEndpoint
from dpictl.engine.contract import InspectionEngine
from dpictl.engine.packet import Detection

log = logging.getLogger(__name__)

MAX_UNSENT = 10_000     # alerts kept for retry while the sink fails (oldest dropped first)
DROP_REPORT_EVERY = 30.0    # seconds between two drop reports for one interface
MAX_REMEMBERED_ERRORS = 100


class Dataplane(Protocol):
    """Where packets are captured (and, with workers, inspected): a CaptureLoop or a
    WorkerPool. `remove` returns what the interface's engines still held, when they live
    there; `stats` gives kernel counters per interface (plus `inspected` and
    `worst_packet_us` when the dataplane inspects)."""

    @property
    def interfaces(self) -> set[str]: ...

    def add(self, iface: str) -> None: ...

    def remove(self, iface: str) -> list[Detection]: ...

    def stats(self) -> dict[str, dict[str, float]]: ...


@dataclass(slots=True)
class Monitor:
    """One inspected (resource, interface) and its endpoint."""

    key: MonitorKey
    endpoint: WorkloadEndpoint
    started: float = field(default_factory=time.time)
    packets: int = 0
    alerts: int = 0


class DpiController:
    """Keeps the running monitors equal to what the resources select on this node."""

    def __init__(self, source: ClusterSource, sink: AlertSink,
                 engine: InspectionEngine | None, capture: Any, node: str, selector_factory: SelectorFactory = default_selector_factory,
                 clock: Callable[[], float] = time.time) -> None:
        self.source = source
        self.sink = sink
        self.node = node
        self.capture: Dataplane = capture
        self._engine = engine               # None: the dataplane's workers inspect
        self._engines: dict[str, InspectionEngine] = {}     # per interface, here
        self._next_engines: dict[str, InspectionEngine] = {}  # new rules, not yet swapped in
        self._worst_us: dict[str, float] = {}
        self._select = selector_factory
        self._clock = clock
        self._lock = threading.Lock()
        self._monitors: dict[MonitorKey, Monitor] = {}
        self._by_iface: dict[str, list[Monitor]] = {}
        self._pending: queue.Queue = queue.Queue()
        self._reported: dict[tuple[str, str], bool] = {}
        self._errors: dict[tuple[str, str], set[str]] = {}
        self._pending_errors: dict[tuple[str, str], list[str]] = {}
        self._capture_errors: list[tuple[MonitorKey, str]] = []
        self._unsent: list = []             # alerts the sink refused, retried next drain
        self._drops_seen: dict[str, int] = {}       # iface -> kernel drops already reported
        self._drops_reported_at: dict[str, float] = {}
        self.alerts_total = 0
        self.last_error: str | None = None
        self.last_swap_seconds: float | None = None    # the capture thread's pause at a reload
        self.alerts = AlertFactory(node)

    # -- capture thread -------------------------------------------------------------------

    def on_frame(self, ts: float, frame: bytes, linktype: int, iface: str | None) -> None:
        """Inspect a captured frame with its interface's engine (capture thread)."""
        name = iface or ""
        with self._lock:
            monitors = list(self._by_iface.get(name, ()))
            engine = self._engines.get(name)
            new = self._next_engines.pop(name, None)
            if new is not None and engine is not None:
                self._engines[name] = new
        if engine is None:
            return
        if new is not None:
            self._swap_out(engine, monitors, name)
            engine = new
        for mon in monitors:
            mon.packets += 1
        started = time.perf_counter()
        try:
            dets = engine.feed(ts, frame, linktype, iface)
        except Exception as exc:  # one bad frame must not end inspection
            log.warning("engine error on %s: %s", iface, exc)
            return
        took = (time.perf_counter() - started) * 1e6
        if took > self._worst_us.get(name, 0.0):
            self._worst_us[name] = took
        if dets:
            for mon in monitors:
                self._pending.put((mon, dets))

    def on_detections(self, iface: str, dets: list[Detection]) -> None:
        """Detections a worker process found on `iface` (any thread)."""
        with self._lock:
            monitors = list(self._by_iface.get(iface, ()))
        for mon in monitors:
            self._pending.put((mon, dets))

    def on_capture_error(self, iface: str | None, message: str) -> None:
        self.last_error = message
        log.warning("%s", message)
        with self._lock:
            keys = [m.key for m in self._by_iface.get(iface or "", ())]
            # Checked at the next reconcile: an interface that vanished with its pod is not
            # an error of the resource, one whose pod is still selected is.
            self._capture_errors += [(key, message) for key in keys]

    # -- controller thread ----------------------------------------------------------------

    def drain(self, timeout: float = 0.0) -> int:
        """Turn queued detections into alerts and hand them to the sink; returns how many."""
        batch: list = []
        try:
            item = self._pending.get(timeout=timeout) if timeout > 0 \
                else self._pending.get_nowait()
            while True:
                batch.append(item)
                item = self._pending.get_nowait()
        except queue.Empty:
            pass
        if not batch and not self._unsent:
            return 0
        alerts, counted = list(self._unsent), []
        for mon, dets in batch:
            made = [self.alerts.make(mon.key, mon.endpoint, d) for d in dets]
            counted.append((mon, len(made)))
            alerts.extend(made)
        try:
            self.sink.add(alerts)
        except Exception as exc:
            # Kept and retried with the next batch: an alert counts only once committed.
            self._unsent = alerts[-MAX_UNSENT:]
            self.last_error = f"could not store {len(alerts)} alert(s): {exc}"
            log.warning("%s", self.last_error)
            return 0
        self._unsent = []
        for mon, n in counted:
            mon.alerts += n
        self.alerts_total += len(alerts)
        return len(alerts)

    def reconcile(self) -> Selection:
        """Start and stop monitors to match the resources and endpoints right now."""
        resources = self.source.resources()
        endpoints = self.source.endpoints()
        self.alerts.index(endpoints)
        wanted = select(resources, endpoints, self.node, self._select)
        by_key = {}
        for manifest in resources:
            meta = manifest.get("metadata") or {}
            by_key[(str(meta.get("namespace") or "default"), str(meta.get("name")))] = manifest
        for key in [k for k in self._monitors if k not in wanted.monitors
                    or wanted.monitors[k].interface != self._monitors[k].endpoint.interface]:
            self._stop_monitor(key)
        started_ok: dict[tuple[str, str], bool] = {}
        for key, ep in sorted(wanted.monitors.items()):
            ok = self._ensure_monitor(key, ep)
            started_ok[key.resource] = started_ok.get(key.resource, True) and ok
        for res, message in wanted.errors.items():
            self._record_error(res, message)
        with self._lock:
            capture_errors, self._capture_errors = self._capture_errors, []
        for key, message in capture_errors:
            if key in wanted.monitors:
                self._record_error(key.resource, message)
                started_ok[key.resource] = started_ok.get(key.resource, True) and \
                    key.interface in self.capture.interfaces
        self._check_drops()
        self._report(wanted, started_ok, by_key)
        self.drain()
        return wanted

    def selected_interfaces(self) -> set[str]:
        """The interfaces the selection holds right now: a data plane that must restart to
        add one (Suricata) starts on all of them, as `reconcile` asks for them one by one."""
        wanted = select(self.source.resources(), self.source.endpoints(), self.node,
                        self._select)
        return {key.interface for key in wanted.monitors}

    def set_engine(self, engine: InspectionEngine | None) -> None:
        """New rules: every interface moves to a fork of the new engine at its next packet
        (None: the dataplane's workers inspect, and were given the new engine themselves).

        The capture stays open: the swap happens on the capture thread (engines are not
        thread-safe), between two packets, and the old engine is flushed so what its streams
        held still alerts. Until then packets keep going to the old rules, never nowhere.
        """
        self._engine = engine
        if engine is None:
            return
        with self._lock:
            for iface in self._engines:
                self._next_engines[iface] = engine.fork()

    def _swap_out(self, old: InspectionEngine, monitors: list[Monitor], iface: str) -> None:
        started = time.perf_counter()
        try:
            dets = old.flush()
        except Exception as exc:
            log.warning("engine flush on %s: %s", iface, exc)
            dets = []
        if dets:
            for mon in monitors:
                self._pending.put((mon, dets))
        self.last_swap_seconds = time.perf_counter() - started

    def shutdown(self) -> None:
        """Stop every monitor (flushing its engine), write the alerts, report inactive."""
        resources = {k.resource for k in self._monitors}
        for key in list(self._monitors):
            self._stop_monitor(key)
        self.drain()
        manifests = {(str((m.get("metadata") or {}).get("namespace")),
                      str((m.get("metadata") or {}).get("name"))): m
                     for m in self._safe(self.source.resources, [])}
        for res in resources:
            if res in manifests:
                self._safe(lambda m=manifests[res]: self.source.report_status(
                    m, self.node, False))

    def snapshot(self) -> dict:
        """What runs now, for the agent's status file and `lab status`: per monitor its
        packets and alerts, and the kernel's counters of its interface (what the endpoint
        sent and received, and what was dropped before inspection)."""
        with self._lock:
            monitors = list(self._monitors.values())
        capture = self._capture_stats()
        out = []
        for m in monitors:
            iface = m.key.interface
            kernel = capture.get(iface, {})
            out.append({"resource": f"{m.key.namespace}/{m.key.name}",
                        "endpoint": f"{m.endpoint.namespace}/{m.endpoint.name}",
                        "interface": iface,
                        "packets": int(kernel.get("inspected", m.packets)),
                        "alerts": m.alerts,
                        "kernel_packets": int(kernel.get("kernel_packets", 0)),
                        "kernel_drops": int(kernel.get("kernel_drops", 0)),
                        "worst_packet_us": round(float(kernel.get(
                            "worst_packet_us", self._worst_us.get(iface, 0.0))), 1)})
        return {
            "monitors": out,
            "capture": capture,
            "alerts": self.alerts_total,
            "last_error": self.last_error,
            "reload_pause_seconds": self.last_swap_seconds,
        }

    # -- internals ------------------------------------------------------------------------

    def _ensure_monitor(self, key: MonitorKey, ep: WorkloadEndpoint) -> bool:
        if key in self._monitors:
            if key.interface not in self.capture.interfaces:
                return self._start_capture(key)
            self._monitors[key].endpoint = ep
            return True
        # Registered before the capture starts, so the first packets captured already
        # have a monitor (and an engine) to go to.
        mon = Monitor(key=key, endpoint=ep, started=self._clock())
        with self._lock:
            self._monitors[key] = mon
            self._by_iface.setdefault(key.interface, []).append(mon)
            if self._engine is not None and key.interface not in self._engines:
                self._engines[key.interface] = self._engine.fork()
        if not self._start_capture(key):
            with self._lock:
                del self._monitors[key]
                peers = self._by_iface[key.interface]
                peers.remove(mon)
                if not peers:
                    del self._by_iface[key.interface]
                    self._engines.pop(key.interface, None)
            return False
        log.info("inspecting %s/%s on %s for %s", ep.namespace, ep.name, key.interface,
                 key.origin)
        return True

    def _start_capture(self, key: MonitorKey) -> bool:
        try:
            self.capture.add(key.interface)
            return True
        except Exception as exc:
            self._record_error(key.resource, f"failed to start DPI for resource "
                               f"{key.namespace}/{key.name} on WEP interface "
                               f"{key.interface}: {exc}")
            return False

    def _stop_monitor(self, key: MonitorKey) -> None:
        with self._lock:
            mon = self._monitors.pop(key)
            peers = self._by_iface.get(key.interface, [])
            if mon in peers:
                peers.remove(mon)
            engine = None
            if not peers:
                self._by_iface.pop(key.interface, None)
                engine = self._engines.pop(key.interface, None)
                self._next_engines.pop(key.interface, None)
        log.info("stopped inspecting %s for %s", key.interface, key.origin)
        if peers:
            return                  # the interface stays inspected for its other monitors
        dets = list(self.capture.remove(key.interface))
        if engine is not None:
            try:
                dets += engine.flush()
            except Exception as exc:
                log.warning("engine flush on %s: %s", key.interface, exc)
        if dets:
            self._pending.put((mon, dets))

    def _capture_stats(self) -> dict[str, dict[str, int]]:
        try:
            return self.capture.stats()
        except Exception as exc:  # counters are for reporting: never stop inspection
            log.debug("capture stats: %s", exc)
            return {}

    def _check_drops(self) -> None:
        """Drops are an error of every resource inspecting that interface: the kernel
        discarded packets of the endpoint before any rule saw them. Reported in Calico's
        errorConditions, at most every DROP_REPORT_EVERY seconds per interface."""
        now = self._clock()
        with self._lock:
            by_iface = {iface: list(mons) for iface, mons in self._by_iface.items()}
        for iface, counts in self._capture_stats().items():
            drops = int(counts.get("kernel_drops", 0))
            seen = self._drops_seen.get(iface, 0)
            if drops <= seen or iface not in by_iface:
                continue
            if now - self._drops_reported_at.get(iface, float("-inf")) < DROP_REPORT_EVERY:
                continue
            self._drops_seen[iface] = drops
            self._drops_reported_at[iface] = now
            packets = int(counts.get("kernel_packets", 0))
            for mon in by_iface[iface]:
                ep = mon.endpoint
                self._record_error(mon.key.resource, (
                    f"{drops - seen} packets dropped on WEP interface {iface} "
                    f"({ep.namespace}/{ep.name}) before inspection: {drops} of {packets} since "
                    "inspection started; the agent is not keeping up with this traffic"))

    def _record_error(self, res: tuple[str, str], message: str) -> None:
        seen = self._errors.setdefault(res, set())
        if message in seen:
            return
        if len(seen) >= MAX_REMEMBERED_ERRORS:
            seen.clear()
        seen.add(message)
        self.last_error = message
        self._reported.pop(res, None)       # force a status write carrying the error
        self._pending_errors.setdefault(res, []).append(message)

    def _report(self, wanted: Selection, started_ok: dict, manifests: dict) -> None:
        for res, count in wanted.selected.items():
            success = count > 0 and started_ok.get(res, False) and res not in wanted.errors
            messages = self._pending_errors.pop(res, [])
            if self._reported.get(res) == success and not messages:
                continue
            manifest = manifests.get(res)
            if manifest is None:
                continue
            for message in messages[:-1]:
                self._safe(lambda m=message: self.source.report_status(
                    manifest, self.node, success, m))
            ok = self._safe(lambda: self.source.report_status(
                manifest, self.node, success, messages[-1] if messages else None), False)
            if ok is not False:
                self._reported[res] = success
        for res in list(self._reported):
            if res not in wanted.selected:
                del self._reported[res]
                self._errors.pop(res, None)

    @staticmethod
    def _safe(fn: Callable[[], Any], default: Any = None) -> Any:
        """Status writes are best effort: a vanished resource must not stop inspection."""
        try:
            result = fn()
            return True if result is None else result
        except Exception as exc:
            log.warning("status update failed: %s", exc)
            return default


__all__ = ["DpiController", "Monitor"]
