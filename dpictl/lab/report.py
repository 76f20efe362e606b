"""What a lab run did and saw: step results, per-traffic expected vs seen, the alerts.

Plain records so the CLI can render them as a rich report or as JSON (`run-lab -o json`),
and a test can read them without parsing text.
"""

from __future__ import annotations

from dataclasses import dataclass, field
from typing import Any

from dpictl.alerts.calico_event import to_calico
from dpictl.alerts.record import Alert

OK, FAILED, SKIPPED = "ok", "failed", "skipped"


@dataclass(slots=True)
class StepResult:
    name: str
    kind: str
    status: str = OK
    seconds: float = 0.0
    detail: str = ""
    error: Exception | None = field(default=None, repr=False)   # why it failed, not shown


    def to_dict(self) -> dict:
        return {"name": self.name, "kind": self.kind, "status": self.status,
                "seconds": round(self.seconds, 3), "detail": self.detail}


@dataclass(slots=True)
class TrafficResult:
    """One traffic command: what ran, what was expected and what the alerts say."""

    name: str
    source: str                       # ns/pod
    target: str
    source_ip: str
    target_ip: str
    command: list[str]
    returncode: int | None = None
    error: str = ""
    expected_alerts: int | None = None
    expected_endpoints: list[str] | None = None
    seen_alerts: int = 0
    seen_endpoints: list[str] = field(default_factory=list)
    seen_sids: list[int] = field(default_factory=list)
    problems: list[str] = field(default_factory=list)
    checked: bool = True              # False where the alerts cannot be read (Calico's store)

    @property
    def passed(self) -> bool:
        return not self.problems

    def to_dict(self) -> dict:
        return {
            "name": self.name, "from": self.source, "to": self.target,
            "source_ip": self.source_ip, "target_ip": self.target_ip,
            "command": self.command, "returncode": self.returncode, "error": self.error,
            "expected": ({"alerts": self.expected_alerts, "endpoints": self.expected_endpoints}
                         if self.expected_alerts is not None else None),
            "seen": {"alerts": self.seen_alerts, "endpoints": self.seen_endpoints,
                     "sids": self.seen_sids},
            "passed": self.passed, "checked": self.checked, "problems": self.problems,
        }


@dataclass(slots=True)
class LabReport:
    scenario: str
    backend: str
    rules: list[str]                   # rule files, or ["builtin"]
    expected_sids: list[int]
    steps: list[StepResult] = field(default_factory=list)
    traffic: list[TrafficResult] = field(default_factory=list)
    alerts: list[Alert] = field(default_factory=list)
    problems: list[str] = field(default_factory=list)     # failures outside one traffic
    seconds: float = 0.0
    cleanup: list[str] = field(default_factory=list)
    kept: bool = False
    notes: list[str] = field(default_factory=list)
    # Where the cluster's own DPI (Calico Enterprise) does the inspection: per applied
    # DeepPacketInspection, its status.nodes as Calico reports it.
    dpi_status: list[dict] = field(default_factory=list)
    # The signal (e.g. "SIGINT") that arrived during the clean-up, which completed anyway.
    interrupted: str | None = None

    @property
    def passed(self) -> bool:
        return (not self.interrupted and not self.problems and all(s.status != FAILED for s in self.steps)
                and all(t.passed for t in self.traffic) and bool(self.traffic))

    @property
    def error(self) -> Exception | None:
        """The error of the first failed step (the CLI re-raises it for its exit code)."""
        return next((s.error for s in self.steps if s.error is not None), None)

    def failures(self) -> list[str]:
        """Every reason the run did not pass, one line each."""
        out = [f"interrupted by {self.interrupted} (the clean-up completed)"] \
            if self.interrupted else []
        out += self.problems
        out += [f"step {s.name!r} failed: {s.detail}" for s in self.steps if s.status == FAILED]
        out += [f"{t.name}: {p}" for t in self.traffic for p in t.problems]
        return out

    def to_dict(self) -> dict[str, Any]:
        return {
            "scenario": self.scenario, "passed": self.passed, "backend": self.backend,
            "rules": self.rules, "expected_sids": self.expected_sids,
            "seconds": round(self.seconds, 3),
            "steps": [s.to_dict() for s in self.steps],
            "traffic": [t.to_dict() for t in self.traffic],
            "alerts": [to_calico(a) for a in self.alerts],
            "problems": self.failures(), "cleanup": self.cleanup, "kept": self.kept,
            "notes": self.notes, "dpi_status": self.dpi_status,
            "interrupted": self.interrupted,
        }


__all__ = ["LabReport", "StepResult", "TrafficResult", "OK", "FAILED", "SKIPPED"]
