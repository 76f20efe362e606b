"""The managed ruleset file: rules in source order, disabled ones commented out, each file's
rules under a `# group SOURCE/FILE` line so `rules list` and the next update's report can
tell where a rule came from without any other index.
"""

from __future__ import annotations

import time
from pathlib import Path

from dpictl.rulesets.entries import RuleEntry, read_entries

_GROUP = "# group "
HEADER = ("# dpictl managed ruleset, written by `dpictl rules update` at {when}.\n"
          "# Do not edit: change the policy (dpictl rules enable|disable|modify) instead.\n")


def render(entries: list[RuleEntry]) -> tuple[str, dict[int, RuleEntry]]:
    """The file's text, and which entry each (1-based) line holds."""
    lines = HEADER.format(when=time.strftime("%Y-%m-%dT%H:%M:%SZ", time.gmtime())).splitlines()
    at: dict[int, RuleEntry] = {}
    group = None
    for entry in entries:
        where = f"{entry.source}/{entry.group}"
        if where != group:
            lines.append(f"{_GROUP}{where}")
            group = where
        lines.append(entry.line())
        at[len(lines)] = entry
    return "\n".join(lines) + "\n", at


def read_managed(path: Path) -> list[RuleEntry]:
    """The entries of a managed ruleset (none when it does not exist yet)."""
    try:
        text = path.read_text(encoding="utf-8", errors="surrogateescape")
    except FileNotFoundError:
        return []
    out: list[RuleEntry] = []
    source, group, block = "", "", []
    for line in text.splitlines():
        if line.startswith(_GROUP):
            out += _block(block, group, source)
            source, _, group = line[len(_GROUP):].strip().partition("/")
            block = []
        else:
            block.append(line)
    out += _block(block, group, source)
    return out


def _block(lines: list[str], group: str, source: str) -> list[RuleEntry]:
    return [e for e in read_entries("\n".join(lines), group, source)
            if isinstance(e, RuleEntry)]


__all__ = ["render", "read_managed"]
