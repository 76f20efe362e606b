"""Human durations (`30s`, `5m`, `1h30m`, `2d`) for `--since`, as kubectl's `--since` reads them."""

from __future__ import annotations

import re

from dpictl.errors import UsageError

_UNITS = {"ms": 0.001, "s": 1, "m": 60, "h": 3600, "d": 86400, "w": 604800}
_PART = re.compile(r"(\d+(?:\.\d+)?)(ms|s|m|h|d|w)")


def parse_duration(text: str) -> float:
    """Seconds in `text`: one or more `<number><unit>` parts, unit one of ms s m h d w
    (a bare number means seconds). Raises UsageError for anything else."""
    raw = (text or "").strip().lower()
    if not raw:
        raise UsageError("empty duration", hint="use e.g. 30s, 5m, 1h30m or 2d")
    if re.fullmatch(r"\d+(?:\.\d+)?", raw):
        return float(raw)
    pos, total = 0, 0.0
    for match in _PART.finditer(raw):
        if match.start() != pos:
            break
        total += float(match.group(1)) * _UNITS[match.group(2)]
        pos = match.end()
    if pos != len(raw) or pos == 0:
        raise UsageError(f"invalid duration {text!r}", hint="use e.g. 30s, 5m, 1h30m or 2d")
    return total


__all__ = ["parse_duration"]
