"""`lab status` and `lab down`: what the lab environment holds, and removing all of it (also
what a run that died before its clean-up left behind)."""

from __future__ import annotations

from collections import Counter

from dpictl.lab.environment import LabEnvironment
from dpictl.lab.lock import LabLock
from dpictl.lab.signals import signals_deferred


def lab_status(env: LabEnvironment) -> dict:
    """Namespaces, pods, DPI resources (with this cluster's status), agent, alert counts."""
    backend = env.backend
    namespaces = [n["metadata"]["name"] for n in backend.get("Namespace")]
    pods = [{"namespace": ep.namespace, "name": ep.name, "ip": ep.ip,
             "interface": ep.interface, "node": ep.node} for ep in backend.endpoints()]
    dpi = []
    for obj in backend.get("DeepPacketInspection", all_namespaces=True):
        nodes = (obj.get("status") or {}).get("nodes") or []
        active = ", ".join(
            f"{n.get('node')}={'yes' if (n.get('active') or {}).get('success') else 'no'}"
            for n in nodes) or "-"
        dpi.append({"namespace": obj["metadata"].get("namespace", ""),
                    "name": obj["metadata"]["name"],
                    "selector": (obj.get("spec") or {}).get("selector") or "all()",
                    "active": active,
                    "errors": sum(len(n.get("errorConditions") or []) for n in nodes)})
    alerts = env.alerts.alerts(since=0.0)
    return {
        "backend": backend.name,
        "namespaces": namespaces,
        "pods": pods,
        "dpi": dpi,
        "agent": env.inspection.status(),
        "alerts": {"total": len(alerts), "by_origin": dict(Counter(a.origin for a in alerts))},
    }


def take_down(env: LabEnvironment) -> list[str]:
    """Stop the agent and remove every object and kernel leftover of this lab environment."""
    return env.inspection.finish(env.backend, True)


def remove_dead_run(lock: LabLock, env: LabEnvironment) -> list[str]:
    """What a run that died before its clean-up (kill -9) left behind, removed; the lines
    say so. Nothing when the last holder of `lock` ended properly. Signals wait until the
    removal is complete, as in any clean-up."""
    if not lock.previous_died:
        return []
    dead = lock.previous
    with signals_deferred() as deferred:
        removed = take_down(env)
        lock.recovered = True
    lines = [f"removed the leftovers of a dead run ({dead.describe()} is gone):"]
    lines += [f"  {line}" for line in removed or ["nothing was left"]]
    if deferred.first is not None:
        raise deferred.first
    return lines


__all__ = ["lab_status", "take_down", "remove_dead_run"]
