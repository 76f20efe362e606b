"""Flowbit dependencies, as suricata-update resolves them: a disabled rule that sets a flowbit
an enabled rule tests is enabled too, or the enabled rule could never fire.

The resolution is idstools' `FlowbitResolver` (the algorithm suricata-update grew from): it
works on any mapping of objects with `enabled` and `flowbits`, so each entry is wrapped in a
small mutable view. A group test (`isset,a|b`) names both bits, so it is split first.
"""

from __future__ import annotations

from dataclasses import dataclass

from idstools.rule import FlowbitResolver

from dpictl.rulesets.entries import RuleEntry


@dataclass(slots=True)
class _View:
    """What FlowbitResolver reads and writes: `enabled` and the `flowbits` option values."""

    enabled: bool
    flowbits: list[str]

    def __bool__(self) -> bool:        # the resolver skips falsy entries
        return True


def _split(value: str) -> list[str]:
    action, sep, names = value.partition(",")
    if not sep:
        return [value]
    bits = [n for n in names.replace("&", "|").split("|") if n]
    return [f"{action},{bit}" for bit in bits] or [value]


def enable_flowbit_dependencies(entries: list[RuleEntry]) -> tuple[list[RuleEntry], list]:
    """(entries with the required setters enabled, the keys of those enabled)."""
    views = {i: _View(e.enabled, [f for v in e.flowbits for f in _split(v)])
             for i, e in enumerate(entries) if e.flowbits}
    if not views:
        return entries, []
    FlowbitResolver().resolve(views)
    out = list(entries)
    keys = []
    for i, view in views.items():
        if view.enabled and not entries[i].enabled:
            out[i] = entries[i].but(enabled=True)
            keys.append(entries[i].key)
    return out, keys


__all__ = ["enable_flowbit_dependencies"]
