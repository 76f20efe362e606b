"""`include` lines in rules files: which file they name, and refusing cycles.

Snort 2.9 writes `include $RULE_PATH/x.rules` (mostly in snort.conf, also in rules files);
Snort 3 rules files may say `include x.rules`. A path is read relative to the directory of
the file that includes it. `$NAME` is replaced by the variable's value when it is defined
(`var RULE_PATH ../rules` earlier in the file, or `--var`); an undefined one stands for that
directory, so `include $RULE_PATH/x.rules` beside x.rules works without a snort.conf.

An include that would reopen a file still being read is a cycle, reported with the whole
chain (`a.rules:3 -> b.rules:1 -> a.rules`) rather than followed.
"""

from __future__ import annotations

import os
import re
from dataclasses import dataclass
from pathlib import Path

from dpictl.rules.variables import Variables

_VAR = re.compile(r"\$\{?([A-Za-z_][A-Za-z0-9_]*)\}?")
MAX_DEPTH = 32


class IncludeError(Exception):
    """An include line that cannot be followed; `str()` is the one-line reason."""


@dataclass(frozen=True, slots=True)
class IncludeSite:
    """Where an include line is: the including file (as named in errors) and its line."""

    file: str
    line: int


def included_file(text: str, site: IncludeSite, chain: tuple[IncludeSite, ...],
                  variables: Variables) -> Path:
    """The path `include <target>` at `site` names; IncludeError on a cycle or bad line."""
    parts = text.split(None, 1)
    target = parts[1].strip().strip('"').strip("'") if len(parts) == 2 else ""
    if not target:
        raise IncludeError("include needs a file name")
    base = Path(site.file).parent
    path = Path(os.path.normpath(base / _expand(target, variables)))
    if len(chain) >= MAX_DEPTH:
        raise IncludeError(f"includes nest more than {MAX_DEPTH} deep at {path}")
    open_files = [s.file for s in chain] + [site.file]
    resolved = _resolved(path)
    for i, name in enumerate(open_files):
        if _resolved(Path(name)) == resolved:
            steps = [f"{s.file}:{s.line}" for s in (chain + (site,))[i:]]
            raise IncludeError(f"include cycle: {' -> '.join(steps + [str(path)])}")
    return path


def read_included(path: Path) -> bytes:
    try:
        return path.read_bytes()
    except FileNotFoundError:
        raise IncludeError(f"included file not found: {path}") from None
    except IsADirectoryError:
        raise IncludeError(f"included path is a directory: {path}") from None
    except OSError as exc:
        raise IncludeError(f"cannot read included file {path}: "
                           f"{exc.strerror or exc}") from None


def _expand(target: str, variables: Variables) -> str:
    """`$RULE_PATH/x.rules` -> the variable's value, or `.` when it is undefined."""
    values = variables.as_dict() if "$" in target else {}
    return _VAR.sub(lambda m: values.get(m.group(1), "."), target)


def _resolved(path: Path) -> Path:
    try:
        return path.resolve()
    except OSError:
        return path.absolute()


__all__ = ["IncludeError", "IncludeSite", "MAX_DEPTH", "included_file", "read_included"]
