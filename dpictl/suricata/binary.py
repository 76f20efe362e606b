"""Finding the Suricata binary and checking that it is Suricata 7 or newer.

dpictl's translation targets Suricata 7 keywords (`http.uri`, `file.data`, `bsize`,
`flowbits:isset,a|b`), which older releases reject rule by rule; refusing an old binary up
front gives one clear message instead of thousands of rule errors.
"""

from __future__ import annotations

import os
import re
import shutil
import subprocess
from dataclasses import dataclass

from dpictl.errors import DpictlError, InputError

MIN_MAJOR = 7
INSTALL_HINT = ("install Suricata 7: scripts/setup.sh --suricata "
                "(or apt-get install -t bookworm-backports suricata)")
_VERSION = re.compile(r"version\s+(\d+)\.(\d+)\.(\d+)")


class SuricataMissing(DpictlError):
    """`--engine suricata` was asked for on a machine without Suricata."""


@dataclass(frozen=True, slots=True)
class SuricataBinary:
    path: str
    version: tuple[int, int, int]

    @property
    def version_text(self) -> str:
        return ".".join(map(str, self.version))


def find_suricata(path: str | None = None) -> SuricataBinary:
    """The Suricata to run: `path`, else $DPICTL_SURICATA, else `suricata` on PATH.

    Raises SuricataMissing (with the install line) or InputError for a release before 7.
    """
    wanted = path or os.environ.get("DPICTL_SURICATA") or "suricata"
    found = shutil.which(wanted)
    if found is None:
        raise SuricataMissing(f"--engine suricata: Suricata is not installed ({wanted} not "
                              "found)", hint=INSTALL_HINT)
    try:
        out = subprocess.run([found, "-V"], capture_output=True, text=True, timeout=30)
    except (OSError, subprocess.TimeoutExpired) as exc:
        raise SuricataMissing(f"cannot run {found}: {exc}", hint=INSTALL_HINT) from None
    m = _VERSION.search(out.stdout + out.stderr)
    if m is None:
        raise InputError(f"{found} -V did not print a Suricata version", hint=INSTALL_HINT)
    version = (int(m.group(1)), int(m.group(2)), int(m.group(3)))
    if version[0] < MIN_MAJOR:
        raise InputError(f"Suricata {'.'.join(map(str, version))} at {found} is too old: "
                         f"dpictl needs Suricata {MIN_MAJOR} or newer", hint=INSTALL_HINT)
    return SuricataBinary(found, version)


__all__ = ["SuricataBinary", "SuricataMissing", "find_suricata", "INSTALL_HINT", "MIN_MAJOR"]
