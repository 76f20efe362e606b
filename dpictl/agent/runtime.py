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
from typing import Any, Callable, Sequence

from dpictl.agent.capture_loop import CaptureLoop, SourceFactory
from dpictl.agent.controller import DpiController
from dpictl.agent.limits import AgentLimits
from dpictl.agent.sources import AgentSettings, AlertSink, ClusterSource

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
    """Compile the rule files (none: dpictl's built-in rules) into one shared Engine."""
    from dpictl.engine import Engine
    from dpictl.rules import builtin_rules, load_rules

    started = time.monotonic()
    loaded = load_rules([Path(p) for p in paths]) if paths else builtin_rules()
    rules = list(getattr(loaded, "rules", loaded))
    errors = list(getattr(loaded, "errors", []))
    for err in errors[:20]:
        log.warning("rule not loaded: %s", err)
    engine = Engine(rules)
    return LoadedRules(engine=engine, paths=tuple(str(p) for p in paths), rules=len(rules),
                       errors=len(errors), seconds=time.monotonic() - started)


def afpacket_factory(netns: str | None) -> SourceFactory:
    """Opens the AF_PACKET source inside the node's network namespace."""
    def open_source(ifaces: list[str], on_vanished=None):
        from dpictl.capture import AfPacketSource

        return AfPacketSource(ifaces, netns=netns, on_vanished=on_vanished)
    return open_source


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
    stop_event: threading.Event = field(default_factory=threading.Event)
    _reload: threading.Event = field(default_factory=threading.Event)

    def request_reload(self) -> None:
        self._reload.set()

    def stop(self) -> None:
        self.stop_event.set()

    def run(self) -> None:
        started = time.time()
        rules = self.engine_factory(self.rule_paths())
        controller = DpiController(self.source, self.sink, rules.engine, capture=None,
                                   node=self.node)
        capture = CaptureLoop(self.capture_factory, controller.on_frame,
                              controller.on_capture_error)
        controller.capture = capture
        getattr(self.capture_factory, "bind", lambda c: None)(controller)   # Suricata plane
        settings: AgentSettings | None = None
        applied: dict = {}
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
                # is never lost to a SIGHUP that came before the handler was installed.
                paths = self._safely(lambda: tuple(str(p) for p in self.rule_paths()))
                if paths is not None and paths not in (rules.paths, failed_paths):
                    new_rules = self._safely(lambda: self.engine_factory(paths))
                    if new_rules is None:
                        failed_paths = paths       # retried when the config changes again
                    else:
                        rules = new_rules
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
            "settings": ({"cpu": settings.cpu, "memory": settings.memory,
                          "flush_interval": settings.flush_interval} if settings else None),
            **controller.snapshot(),
            **getattr(self.capture_factory, "snapshot", dict)(),
        }

    @staticmethod
    def _safely(fn: Callable[[], Any]) -> Any:
        """A failing API call or database read must not end the agent: log, retry later."""
        try:
            return fn()
        except Exception as exc:
            log.warning("%s failed: %s", getattr(fn, "__name__", "call"), exc)
            return None


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
              reconcile_interval: float = RECONCILE_INTERVAL) -> None:
    """Run the agent until SIGTERM/SIGINT; SIGHUP reloads the rules and reconciles now.

    Signal handlers are only installed when called from the main thread.
    """
    runtime = AgentRuntime(source=source, sink=sink, node=node,
                           capture_factory=capture_factory or afpacket_factory(netns),
                           rule_paths=rule_paths, limits=limits, publish=publish,
                           engine_factory=engine_factory,
                           reconcile_interval=reconcile_interval)
    if threading.current_thread() is threading.main_thread():
        signal.signal(signal.SIGTERM, lambda *_: runtime.stop())
        signal.signal(signal.SIGINT, lambda *_: runtime.stop())
        signal.signal(signal.SIGHUP, lambda *_: runtime.request_reload())
    runtime.run()


__all__ = ["run_agent", "AgentRuntime", "build_engine", "afpacket_factory", "LoadedRules",
           "RECONCILE_INTERVAL"]
