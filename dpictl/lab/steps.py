"""Running scenario steps against a backend, and undoing them.

Each step kind maps onto Backend operations; everything a step creates is remembered so that
`undo()` can remove exactly that (objects it created, namespaces it created, a patch it
made, restored to the previous values) whatever happened in between - a failed step, an
expectation that did not hold, or Ctrl-C.
"""

from __future__ import annotations

import shlex
import time
from dataclasses import dataclass, field
from string import Template
from typing import Callable, Protocol

from dpictl.errors import ClusterError, DpictlError, NotFound
from dpictl.lab.environment import LabEnvironment
from dpictl.lab.report import FAILED, SKIPPED, StepResult, TrafficResult
from dpictl.lab.scenario import (ApplyStep, NamespacesStep, PatchStep, PodIpsStep, PodRef,
                                 PodsStep, Step, Traffic, TrafficStep)

# Kinds whose change the DPI agent must see at once (it also notices within a second).
AGENT_KINDS = {"DeepPacketInspection", "IntrusionDetection", "FelixConfiguration"}
EXEC_TIMEOUT = 30.0


class LabObserver(Protocol):
    """What the runner reports while it works (the CLI draws it; tests record it)."""

    def step_started(self, index: int, total: int, title: str) -> None: ...

    def step_finished(self, result: StepResult) -> None: ...

    def message(self, text: str) -> None: ...


class NullObserver:
    def step_started(self, index: int, total: int, title: str) -> None:
        pass

    def step_finished(self, result: StepResult) -> None:
        pass

    def message(self, text: str) -> None:
        pass


@dataclass
class UndoLog:
    """What the lab changed, newest last."""

    namespaces: list[str] = field(default_factory=list)
    objects: list[tuple[str, str, str | None]] = field(default_factory=list)  # kind, name, ns
    patches: list[tuple[str, str, str | None, dict | None, dict]] = field(default_factory=list)


class StepRunner:
    """Runs one scenario's steps in order on one environment."""

    def __init__(self, env: LabEnvironment, timeout: float,
                 observer: LabObserver | None = None) -> None:
        self.env = env
        self.backend = env.backend
        self.timeout = timeout
        self.observer = observer or NullObserver()
        self.ips: dict[PodRef, str] = {}
        self.traffic: list[TrafficResult] = []
        self.applied_dpi: list[tuple[str, str]] = []
        self.undo_log = UndoLog()
        self._inspection_checked = False

    def run(self, step: Step) -> StepResult:
        result = StepResult(name=step.title, kind=step.kind)
        started = time.monotonic()
        try:
            result.detail = _HANDLERS[type(step.action)](self, step.action)
        except NotFound as err:
            if step.optional:
                result.status, result.detail = SKIPPED, f"skipped (optional): {err}"
            else:
                result.status, result.detail, result.error = FAILED, str(err), err
        except DpictlError as err:
            result.status, result.detail, result.error = FAILED, str(err), err
        result.seconds = time.monotonic() - started
        return result

    # -- step kinds -----------------------------------------------------------------------

    def _patch(self, action: PatchStep) -> str:
        try:
            old = self.backend.get(action.kind, namespace=action.namespace, name=action.name)[0]
        except NotFound:
            old = None
        self.undo_log.patches.append((action.kind, action.name, action.namespace, old,
                                      action.patch))
        self.backend.patch(action.kind, action.name, action.patch, namespace=action.namespace,
                           patch_type=action.patch_type)
        self._poke(action.kind)
        return f"{action.kind}/{action.name} patched"

    def _namespaces(self, action: NamespacesStep) -> str:
        for name in action.names:
            self.backend.create_namespace(name)
            self.undo_log.namespaces.append(name)
        return "created " + ", ".join(action.names)

    def _pods(self, action: PodsStep) -> str:
        for i, pod in enumerate(action.pods, 1):
            self.observer.message(f"starting pod {pod.ref} ({i}/{len(action.pods)})")
            self.backend.run_pod(pod.ref.namespace, pod.ref.name, pod.image, pod.labels)
        by_ns: dict[str, list[str]] = {}
        for pod in action.pods:
            by_ns.setdefault(pod.ref.namespace, []).append(pod.ref.name)
        for ns, names in by_ns.items():
            self.backend.wait_pods_running(
                ns, names, self.timeout,
                progress=lambda done, total, msg: self.observer.message(msg))
        return f"{len(action.pods)} pods Running"

    def _apply(self, action: ApplyStep) -> str:
        obj, outcome = self.backend.apply(action.manifest)
        meta = obj.get("metadata") or {}
        kind, name, ns = obj.get("kind", action.kind), meta.get("name"), meta.get("namespace")
        if outcome == "created":
            self.undo_log.objects.append((kind, name, ns))
        if kind == "DeepPacketInspection":
            self.applied_dpi.append((ns, name))
        self._poke(kind)
        return f"{kind.lower()}/{name} {outcome}"

    def _pod_ips(self, action: PodIpsStep) -> str:
        self._resolve(action.pods)
        return ", ".join(f"{ref.name}={self.ips[ref]}" for ref in action.pods)

    def _traffic(self, action: TrafficStep) -> str:
        self.wait_inspection()
        self._resolve([r for t in action.traffic for r in (t.source, t.target)])
        failed = 0
        for t in action.traffic:
            self.observer.message(f"{t.name}: {t.command}")
            result = self._send(t)
            self.traffic.append(result)
            failed += bool(result.error)
        if failed:
            raise ClusterError(f"{failed} of {len(action.traffic)} traffic command(s) failed")
        return f"{len(action.traffic)} requests sent"

    # -- helpers --------------------------------------------------------------------------

    def _send(self, t: Traffic) -> TrafficResult:
        text = Template(t.command).safe_substitute(IP=self.ips[t.target],
                                                   SRC_IP=self.ips[t.source])
        argv = shlex.split(text)
        result = TrafficResult(name=t.name, source=str(t.source), target=str(t.target),
                               source_ip=self.ips[t.source], target_ip=self.ips[t.target],
                               command=argv)
        if t.expect is not None:
            result.expected_alerts = t.expect.alerts
            if t.expect.endpoints is not None:
                result.expected_endpoints = sorted(str(e) for e in t.expect.endpoints)
        try:
            done = self.backend.exec(t.source.namespace, t.source.name, argv,
                                     timeout=min(EXEC_TIMEOUT, self.timeout))
        except DpictlError as err:
            result.error = str(err)
            return result
        result.returncode = done.returncode
        if done.returncode != 0:
            tail = done.stderr.decode(errors="replace").strip().splitlines()[-1:] or [""]
            result.error = f"exit {done.returncode}: {tail[0]}".strip()
        return result

    def _resolve(self, refs: list[PodRef]) -> None:
        missing = [r for r in refs if r not in self.ips]
        if not missing:
            return
        by_ref = {PodRef(ep.namespace, ep.name): ep.ip for ep in self.backend.endpoints()}
        for ref in missing:
            if ref not in by_ref:
                raise NotFound(f"pod {ref} has no IP", hint="is it Running?")
            self.ips[ref] = by_ref[ref]

    def wait_inspection(self) -> None:
        """Before the first traffic: every DPI resource applied is active on some node."""
        if self._inspection_checked:
            return
        self._inspection_checked = True
        deadline = time.monotonic() + self.timeout
        self.observer.message("waiting for the DPI agent to load its rules")
        self.env.inspection.wait_ready(self.timeout)
        for ns, name in self.applied_dpi:
            self.observer.message(f"waiting for deeppacketinspection {ns}/{name} to be active")
            while not self._dpi_active(ns, name):
                if time.monotonic() >= deadline:
                    raise ClusterError(f"deeppacketinspection {ns}/{name} did not become "
                                       f"active within {self.timeout:g}s",
                                       hint=f"see: dpictl get dpi -n {ns} {name} -o yaml")
                time.sleep(0.05)

    def _dpi_active(self, ns: str, name: str) -> bool:
        obj = self.backend.get("DeepPacketInspection", namespace=ns, name=name)[0]
        nodes = (obj.get("status") or {}).get("nodes") or []
        return any((n.get("active") or {}).get("success") for n in nodes)

    def _poke(self, kind: str) -> None:
        if kind in AGENT_KINDS:
            self.env.inspection.changed()

    def undo(self) -> list[str]:
        """Remove what the steps created, newest first; best effort, one line per action."""
        lines: list[str] = []
        log = self.undo_log
        for kind, name, ns in reversed(log.objects):
            if ns and ns in log.namespaces:
                continue              # goes with its namespace
            lines += _attempt(f"deleted {kind.lower()}/{name}",
                              lambda: self.backend.delete(kind, [name], namespace=ns))
        for kind, name, ns, old, patch in reversed(log.patches):
            if old is None:
                lines += _attempt(f"deleted {kind.lower()}/{name}",
                                  lambda: self.backend.delete(kind, [name], namespace=ns))
            else:
                lines += _attempt(f"restored {kind.lower()}/{name}",
                                  lambda: self.backend.patch(kind, name, _restore(old, patch),
                                                             namespace=ns))
        if log.namespaces:
            names = list(reversed(log.namespaces))
            lines += _attempt("deleted namespaces " + ", ".join(names),
                              lambda: self.backend.delete("Namespace", names))
        self.undo_log = UndoLog()
        return lines


def _attempt(line: str, fn: Callable[[], object]) -> list[str]:
    try:
        fn()
        return [line]
    except NotFound:
        return []
    except Exception as err:  # clean-up is best effort: report and go on with the rest
        return [f"could not do '{line}': {err}"]


def _restore(old: dict, patch: dict) -> dict:
    """The merge patch that puts back, for every key `patch` touched, the value `old` had."""
    out: dict = {}
    for key, value in patch.items():
        before = old.get(key) if isinstance(old, dict) else None
        if isinstance(value, dict) and isinstance(before, dict):
            out[key] = _restore(before, value)
        else:
            out[key] = before
    return out


_HANDLERS = {PatchStep: StepRunner._patch, NamespacesStep: StepRunner._namespaces,
             PodsStep: StepRunner._pods, ApplyStep: StepRunner._apply,
             PodIpsStep: StepRunner._pod_ips, TrafficStep: StepRunner._traffic}


__all__ = ["StepRunner", "LabObserver", "NullObserver", "UndoLog", "AGENT_KINDS"]
