"""Did the alerts match what the scenario expected? Counts, endpoints, SIDs, nothing extra.

An alert belongs to a traffic command when its two addresses are that command's two pods
(either direction: a rule may fire on the response). The scenario forbids two commands on
the same pair of pods, so this attribution is unambiguous.
"""

from __future__ import annotations

from collections.abc import Iterable

from dpictl.alerts.record import Alert
from dpictl.lab.report import TrafficResult


def alerts_for(result: TrafficResult, alerts: Iterable[Alert]) -> list[Alert]:
    pair = {result.source_ip, result.target_ip}
    return [a for a in alerts if {a.source_ip, a.dest_ip} == pair]


def endpoint_of(alert: Alert) -> str:
    ep = alert.endpoint
    return f"{ep.namespace}/{ep.name}" if ep else "-"


def counts_reached(results: list[TrafficResult], alerts: list[Alert]) -> bool:
    """True once every command has at least the alerts it expects (the runner then settles)."""
    return all(len(alerts_for(r, alerts)) >= r.expected_alerts for r in results
               if r.expected_alerts is not None)


def evaluate(results: list[TrafficResult], alerts: list[Alert],
             expected_sids: frozenset[int]) -> list[str]:
    """Fill each result's `seen_*` and `problems`; returns problems not tied to one command."""
    claimed: set[int] = set()
    for r in results:
        mine = alerts_for(r, alerts)
        claimed.update(id(a) for a in mine)
        r.seen_alerts = len(mine)
        r.seen_endpoints = sorted(endpoint_of(a) for a in mine)
        r.seen_sids = sorted({a.sid for a in mine})
        r.problems = []
        if r.error:
            r.problems.append(f"command failed: {r.error}")
        if r.expected_alerts is not None and r.seen_alerts != r.expected_alerts:
            r.problems.append(f"expected {_n(r.expected_alerts)}, saw {_n(r.seen_alerts)}")
        elif r.expected_endpoints is not None and r.seen_endpoints != r.expected_endpoints:
            r.problems.append(f"expected alerts on {', '.join(r.expected_endpoints) or 'none'}, "
                              f"saw them on {', '.join(r.seen_endpoints) or 'none'}")
        wrong = [s for s in r.seen_sids if expected_sids and s not in expected_sids]
        if wrong:
            r.problems.append(f"SID {', '.join(map(str, wrong))} is not the expected "
                              f"{_sids(expected_sids)}")
    extra = [a for a in alerts if id(a) not in claimed]
    if extra:
        return [f"{_n(len(extra))} not caused by any traffic command "
                f"(SIDs {', '.join(str(s) for s in sorted({a.sid for a in extra}))})"]
    return []


def _n(count: int) -> str:
    return f"{count} alert" + ("" if count == 1 else "s")


def _sids(sids: frozenset[int]) -> str:
    return " or ".join(str(s) for s in sorted(sids))


__all__ = ["evaluate", "alerts_for", "counts_reached", "endpoint_of"]
