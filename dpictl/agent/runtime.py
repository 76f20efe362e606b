"""The agent's main loop: one controller, one capture thread, one compiled rule set.

`run_agent()` is the entry point shared by the local daemon (`python -m dpictl.agent run`)
and the Kubernetes DaemonSet (`dpictl agent run`): each passes its own `ClusterSource` and
`AlertSink`. The loop turns queued detections into alerts as soon as they arrive, reconciles
every second (or at once on SIGHUP, which also reloads the rules), re-applies resource
limits when IntrusionDetection changes, and publishes a status snapshot. SIGTERM/SIGINT stop
it cleanly: monitors are flushed, alerts written, status set inactive, capture closed.
"""

from __future__ import annotations

import logging
import os
import signal
import threading
import time
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any, Callable, Protocol, Sequence

from dpictl.agent.capture_loop import CaptureLoop, SourceFactory
from dpictl.agent.controller import DpiController
from dpictl.agent.limits import AgentLimits
from dpictl.agent.workers import WorkerPool
from dpictl.agent.sources import AgentSettings, ClusterSource
from dpictl.alerts.sink import AlertSink

log = logging.getLogger(__name__)

RECONCILE_INTERVAL = 1.0


@dataclass(slots=True)
class LoadedRules:
    engine: Any
    paths: tuple[str, ...]
    rules: int
    errors: int
    seconds: float


def build_engine(paths: Sequence[Path | str]) -> LoadedRules:
    """Compile the rule files (none: the built-in rules, plus the managed ruleset and its
    threshold.config once `dpictl rules update` wrote them) into one shared Engine, through
    the compiled-rules cache."""
    from dpictl.engine import Engine, load_compiled
    from dpictl.rulesets.active import default_compiled

    started = time.monotonic()
    compiled = load_compiled([Path(p) for p in paths]) if paths else default_compiled()
    rules, errors = list(compiled.ruleset.rules), list(compiled.ruleset.errors)
    for err in errors[:20]:
        log.warning("rule not loaded: %s", err)
    engine = Engine(rules, threshold_config=None if paths else _thresholds(),
                    compiled=compiled.compiled)
    return LoadedRules(engine=engine, paths=tuple(str(p) for p in paths), rules=len(rules),
                       errors=len(errors), seconds=time.monotonic() - started)


def _thresholds():
    """The managed threshold.config; a broken one is logged, not fatal (a restarting agent
    must come back up, and `rules update` refuses to install a broken one)."""
    from dpictl.errors import InputError
    from dpictl.rulesets.active import default_threshold_config

    try:
        return default_threshold_config()
    except InputError as err:
        log.warning("threshold.config not applied: %s", err)
        return None


def afpacket_factory(netns: str | None, ring_mb: int = 8) -> SourceFactory:
    """Opens the AF_PACKET source inside the node's network namespace: a ring of `ring_mb`
    MiB per interface (and worker), in 1 MiB blocks, and with `fanout_group` (workers) the
    interface's PACKET_FANOUT group."""
    def open_source(ifaces: list[str], on_vanished=None, fanout_group: int | None = None):
        from dpictl.capture import AfPacketSource
        from dpictl.live.session import BLOCK_SIZE, BLOCKS_PER_MIB

        # A block is handed over when full or after its timeout: at a pod's low rates the
        # ring buffers block_count x timeout seconds. 100 ms (64 blocks: 6.4 s) rides out a
        # rule reload compiling in this process, for 100 ms more alert latency at most.
        return AfPacketSource(ifaces, netns=netns, on_vanished=on_vanished,
                              block_size=BLOCK_SIZE,
                              block_count=max(2, ring_mb * BLOCKS_PER_MIB),
                              block_timeout_ms=100, fanout_group=fanout_group)
    return open_source


class ExternalPlane(Protocol):
    """An engine that runs outside this process (dpictl.suricata.SuricataPlane): it is told
    the controller, so alerts it reads reach every monitor of their interface, and adds its
    own part to the agent's status snapshot."""

    def bind(self, controller: DpiController) -> None: ...

    def snapshot(self) -> dict: ...


@dataclass
class AgentRuntime:
    """The loop around a DpiController; build it with `run_agent` unless testing."""

    source: ClusterSource
    sink: AlertSink
    node: str
    capture_factory: SourceFactory
    rule_paths: Callable[[], Sequence[Path | str]] = lambda: ()
    engine_factory: Callable[[Sequence[Path | str]], LoadedRules] = build_engine
    limits: AgentLimits | None = None
    publish: Callable[[dict], None] | None = None
    reconcile_interval: float = RECONCILE_INTERVAL
    workers: int | None = None          # None: one per CPU, capped by the cpu limit
    plane: ExternalPlane | None = None  # an engine outside the agent (Suricata)
    stop_event: threading.Event = field(default_factory=threading.Event)
    _reload: threading.Event = field(default_factory=threading.Event)
    _workers_running: int = field(default=1, init=False)

    def request_reload(self) -> None:
        self._reload.set()

    def stop(self) -> None:
        self.stop_event.set()

    def run(self) -> None:
        started = time.time()
        current = _rules_state(self.rule_paths())   # taken before loading: a change during
        rules = self.engine_factory(current[0])     # the load is seen at the next reconcile
        # Limits first: worker processes forked afterwards inherit the agent's cgroup.
        settings, applied = self._apply_settings(None, {})
        workers = self._worker_count(settings)
        pool: WorkerPool | None = None
        if workers > 1:
            controller = DpiController(self.source, self.sink, None, capture=None,
                                       node=self.node)
            pool = WorkerPool(rules.engine, workers, self.capture_factory,
                              controller.on_detections, controller.on_capture_error)
            pool.start()
            capture: CaptureLoop | WorkerPool = pool
        else:
            controller = DpiController(self.source, self.sink, rules.engine, capture=None,
                                       node=self.node)
            capture = CaptureLoop(self.capture_factory, controller.on_frame,
                                  controller.on_capture_error)
        controller.capture = capture
        self._workers_running = workers
        if self.plane is not None:
            self.plane.bind(controller)
        next_reconcile = 0.0
        next_heartbeat = 0.0
        last: dict = {}
        failed_paths: tuple | None = None
        try:
            while not self.stop_event.is_set():
                if self._safely(lambda: controller.drain(timeout=0.1)) is None:
                    self.stop_event.wait(0.1)          # failed: do not spin
                now = time.monotonic()
                reload = self._reload.is_set()
                if not reload and now < next_reconcile:
                    continue
                self._reload.clear()
                next_reconcile = now + self.reconcile_interval
                # The rule config is re-read every time (it is a small file), so a change
                # is never lost to a SIGHUP that came before the handler was installed; so
                # are the files' stamps, so `rules update` or a policy edit reloads too.
                wanted = self._safely(lambda: _rules_state(self.rule_paths()))
                if wanted is not None and wanted not in (current, failed_paths):
                    new_rules = self._safely(lambda: self.engine_factory(wanted[0]))
                    if new_rules is None:
                        failed_paths = wanted      # retried when the files change again
                    else:
                        rules, current = new_rules, wanted
                        if pool is not None:
                            pool.set_engine(rules.engine)
                        else:
                            controller.set_engine(rules.engine)
                settings, applied = self._apply_settings(settings, applied)
                self._safely(controller.reconcile)
                snap = self._snapshot(controller, rules, applied, started, settings)
                changed = {k: v for k, v in snap.items() if k != "updated"}
                if self.publish and (changed != last or now >= next_heartbeat):
                    self.publish(snap)
                    last = changed
                    next_heartbeat = now + (settings.flush_interval if settings else 300.0)
        finally:
            self._safely(controller.shutdown)
            capture.stop()
            if self.limits is not None:
                self.limits.release()
            if self.publish:
                snap = self._snapshot(controller, rules, applied, started, settings)
                snap.update(running=False, stopped=time.time())
                self.publish(snap)

    def _worker_count(self, settings: AgentSettings | None) -> int:
        """`workers`, else one per CPU this process may use, capped by the cpu limit (a
        second worker under a one-CPU quota only adds memory)."""
        if self.workers:
            return max(1, self.workers)
        try:
            count = len(os.sched_getaffinity(0))
        except (AttributeError, OSError):
            count = os.cpu_count() or 1
        if settings is not None and settings.cpu:
            from dpictl.resources.quantity import parse_cpu_millicores

            try:
                count = min(count, max(1, -(-parse_cpu_millicores(settings.cpu) // 1000)))
            except Exception:  # a bad quantity is reported by _apply_settings
                pass
        return max(1, count)

    def _apply_settings(self, previous: AgentSettings | None,
                        applied: dict) -> tuple[AgentSettings | None, dict]:
        settings = self._safely(self.source.settings)
        if settings is None:
            return previous, applied
        if self.limits is not None and (previous is None or (settings.cpu, settings.memory)
                                        != (previous.cpu, previous.memory)):
            from dpictl.resources.quantity import parse_cpu_millicores, parse_memory_bytes

            try:
                cpu = parse_cpu_millicores(settings.cpu) if settings.cpu else None
                mem = parse_memory_bytes(settings.memory) if settings.memory else None
                applied = self.limits.apply(cpu, mem).to_dict()
                log.info("limits: cpu %s; memory %s", applied["cpu"], applied["memory"])
            except Exception as exc:
                log.warning("could not apply limits: %s", exc)
                applied = {**applied, "error": str(exc)}
        return settings, applied

    def _snapshot(self, controller: DpiController, rules: LoadedRules, applied: dict,
                  started: float, settings: AgentSettings | None) -> dict:
        return {
            "pid": os.getpid(), "running": True, "node": self.node, "started": started,
            "updated": time.time(),
            "rules": {"paths": list(rules.paths) or ["builtin"], "loaded": rules.rules,
                      "errors": rules.errors, "compile_seconds": round(rules.seconds, 3)},
            "limits": applied,
            "rss_bytes": _rss_bytes(),
            "workers": self._workers_running,
            "settings": ({"cpu": settings.cpu, "memory": settings.memory,
                          "flush_interval": settings.flush_interval} if settings else None),
            **controller.snapshot(),
            **(self.plane.snapshot() if self.plane is not None else {}),
        }

    @staticmethod
    def _safely(fn: Callable[[], Any]) -> Any:
        """A failing API call or database read must not end the agent: log, retry later."""
        try:
            return fn()
        except Exception as exc:
            log.warning("%s failed: %s", getattr(fn, "__name__", "call"), exc)
            return None


def _rules_state(paths: Sequence[Path | str]) -> tuple[tuple[str, ...], tuple]:
    """(the configured paths, the stamps of the files they load) - a reload when either moves."""
    from dpictl.rulesets.active import version

    names = tuple(str(p) for p in paths)
    return names, version(names)


def _rss_bytes() -> int | None:
    """Resident memory now, to set beside the memory limit in `lab status`."""
    try:
        for line in open("/proc/self/status", encoding="ascii"):
            if line.startswith("VmRSS:"):
                return int(line.split()[1]) * 1024
    except OSError:
        pass
    return None


def run_agent(source: ClusterSource, sink: AlertSink, *, node: str, netns: str | None = None,
              rule_paths: Callable[[], Sequence[Path | str]] = lambda: (),
              limits: AgentLimits | None = None, publish: Callable[[dict], None] | None = None,
              capture_factory: SourceFactory | None = None,
              engine_factory: Callable[[Sequence[Path | str]], Any] = build_engine,
              reconcile_interval: float = RECONCILE_INTERVAL,
              workers: int | None = None, plane: ExternalPlane | None = None) -> None:
    """Run the agent until SIGTERM/SIGINT; SIGHUP reloads the rules and reconciles now.

    Signal handlers are only installed when called from the main thread.
    """
    runtime = AgentRuntime(source=source, sink=sink, node=node,
                           capture_factory=capture_factory or afpacket_factory(netns),
                           rule_paths=rule_paths, limits=limits, publish=publish,
                           engine_factory=engine_factory,
                           reconcile_interval=reconcile_interval, workers=workers,
                           plane=plane)
    if threading.current_thread() is threading.main_thread():
        signal.signal(signal.SIGTERM, lambda *_: runtime.stop())
        signal.signal(signal.SIGINT, lambda *_: runtime.stop())
        signal.signal(signal.SIGHUP, lambda *_: runtime.request_reload())
    runtime.run()


__all__ = ["run_agent", "AgentRuntime", "ExternalPlane", "build_engine", "afpacket_factory",
           "LoadedRules", "RECONCILE_INTERVAL"]
