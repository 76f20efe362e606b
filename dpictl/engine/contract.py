"""`InspectionEngine`: what the callers of an engine rely on, as one Protocol.

The CLI, the live workers and the agent drive `dpictl.engine.Engine`; tests drive small
fakes. Naming the contract keeps both honest: a fake that forgets `rule_report` fails the
type check instead of being papered over with getattr at the call site.
"""

from __future__ import annotations

from typing import Protocol, runtime_checkable

from dpictl.engine.detect.ruleset import RuleProblem
from dpictl.engine.packet import Detection


@runtime_checkable
class InspectionEngine(Protocol):
    def feed(self, ts: float, frame: bytes, linktype: int,
             iface: str | None = None) -> list[Detection]:
        """Inspect one frame; detections it completed."""

    def flush(self) -> list[Detection]:
        """End of input: what every flow still held."""

    def fork(self) -> "InspectionEngine":
        """A fresh engine (flows, streams, thresholds) sharing the compiled rules."""

    @property
    def stats(self) -> dict[str, int]: ...

    @property
    def rule_report(self) -> list[RuleProblem]: ...


__all__ = ["InspectionEngine"]
