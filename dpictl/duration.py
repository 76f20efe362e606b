"""Human and Go durations in seconds: one grammar for `--since` and for manifest fields.

There used to be two parsers: `--since` took `30s 5m 1h30m 2d 1w` and bare seconds, manifest
fields (Felix's `flowLogsFlushInterval`) took Go durations `1m30s 500ms 250us 0`. This one
accepts both: one or more `<number><unit>` parts, unit one of ns us µs ms s m h d w (any case:
`10M` is ten minutes, as `--since` always read it), or a bare number of seconds.
"""

from __future__ import annotations

import math
import re

from dpictl.errors import DpictlError, UsageError

_UNITS = {"ns": 1e-9, "us": 1e-6, "µs": 1e-6, "ms": 1e-3, "s": 1.0, "m": 60.0, "h": 3600.0,
          "d": 86400.0, "w": 604800.0}
_PART = re.compile(r"(\d*\.?\d+)(ns|us|µs|ms|s|m|h|d|w)")
_NUMBER = re.compile(r"\d*\.?\d+")
_HINT = "use e.g. 30s, 5m, 1h30m, 500ms or 2d"


def parse_duration(text: str, error: type[DpictlError] = UsageError) -> float:
    """Seconds in `text`; raises `error` (UsageError for an option, ManifestError for a
    manifest field) with one line for anything else."""
    raw = str(text if text is not None else "").strip().lower()
    if _NUMBER.fullmatch(raw):
        total = float(raw)
    else:
        pos, total = 0, 0.0
        for match in _PART.finditer(raw):
            if match.start() != pos:
                break
            total += float(match.group(1)) * _UNITS[match.group(2)]
            pos = match.end()
        if pos != len(raw) or pos == 0:
            raise error(f"invalid duration {text!r}", hint=_HINT)
    if not math.isfinite(total):
        raise error(f"duration {text!r} is too long", hint=_HINT)
    return total


__all__ = ["parse_duration"]
