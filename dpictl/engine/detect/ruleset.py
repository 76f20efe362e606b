"""Compile a list of rules into one shared, immutable detector plus a per-rule report.

The report is the engine's promise to say, per rule, what it could not do and why: rules
that were dropped (they will never alert) and rules loaded with a caveat. Rules that are
not alerts (pass/drop/reject/log actions are treated as alert in an IDS, as Suricata does
in IDS mode with `pass` excepted) are reported too.
"""

from __future__ import annotations

from dataclasses import dataclass, field

from dpictl.engine.detect.detector import Detector
from dpictl.engine.detect.signature import Signature, SignatureRejected, compile_rule
from dpictl.rules.ast import Rule


@dataclass(frozen=True, slots=True)
class RuleProblem:
    """One load-time finding for one rule. `dropped`: the rule will never alert."""

    gid: int
    sid: int
    reason: str
    dropped: bool = True

    def __iter__(self):  # (gid, sid, reason), as the rule report is documented
        return iter((self.gid, self.sid, self.reason))


@dataclass(slots=True)
class CompiledRules:
    detector: Detector
    report: list[RuleProblem] = field(default_factory=list)
    loaded: int = 0
    dropped: int = 0


def compile_rules(rules: list[Rule]) -> CompiledRules:
    sigs: list[Signature] = []
    report: list[RuleProblem] = []
    seen: set[tuple[int, int]] = set()
    for order, rule in enumerate(rules):
        if rule.key in seen:
            report.append(RuleProblem(rule.gid, rule.sid, "duplicate gid:sid; first kept"))
            continue
        seen.add(rule.key)
        if rule.action == "pass":
            report.append(RuleProblem(rule.gid, rule.sid,
                                      "pass rules are not evaluated (IDS: nothing to pass)"))
            continue
        try:
            sig = compile_rule(rule, order)
        except SignatureRejected as exc:
            report.append(RuleProblem(rule.gid, rule.sid, str(exc)))
            continue
        for note in sig.notes:
            report.append(RuleProblem(rule.gid, rule.sid, note, dropped=False))
        sigs.append(sig)
    dropped = sum(1 for p in report if p.dropped)
    return CompiledRules(Detector(sigs), report, loaded=len(sigs), dropped=dropped)


__all__ = ["CompiledRules", "RuleProblem", "compile_rules"]
