"""threshold.config, in the line syntax Snort 2.9 and Suricata share:

    suppress gen_id 1, sig_id 2002087, track by_src, ip 209.132.180.67
    suppress gen_id 1, sig_id 2003614, track by_dst, ip [10.0.0.0/8,$HOME_NET]
    threshold gen_id 1, sig_id 1851, type limit, track by_src, count 1, seconds 60
    event_filter gen_id 0, sig_id 0, type threshold, track by_dst, count 10, seconds 60
    rate_filter gen_id 1, sig_id 1000, track by_rule, count 100, seconds 60, \\
        new_action pass, timeout 30

Snort's rate_filter `apply_to IP-LIST` and its log/sdrop actions are read too; Snort 3's Lua
tables are not. `gen_id 0, sig_id 0` means every rule; `sig_id 0` alone every rule of that
gid. A bad line is an InputError naming file:line (Suricata skips bad lines with a log message; a sensor that
quietly ignores a suppression is worse than one that refuses the file).
"""

from __future__ import annotations

import re
from dataclasses import dataclass, field
from pathlib import Path

from dpictl.errors import InputError
from dpictl.rules.addresses import parse_addresses
from dpictl.rules.ast import AddressSpec, Threshold
from dpictl.rules.variables import Variables

KINDS = ("suppress", "threshold", "event_filter", "rate_filter")
_ALLOWED = {
    "suppress": {"gen_id", "sig_id", "track", "ip"},
    "threshold": {"gen_id", "sig_id", "type", "track", "count", "seconds"},
    "event_filter": {"gen_id", "sig_id", "type", "track", "count", "seconds"},
    "rate_filter": {"gen_id", "sig_id", "track", "count", "seconds", "new_action", "timeout",
                    "apply_to"},
}
# Snort's actions too (log, sdrop): dpictl only records the action, it blocks nothing
ACTIONS = ("alert", "drop", "pass", "reject", "log", "sdrop")
TRACKS = ("by_src", "by_dst", "by_rule", "by_both", "by_either")
_FIELD = re.compile(r"\s*([a-z_]+)\s+(\[[^\]]*\]|[^,\s]+)\s*(?:,|\Z)")


@dataclass(frozen=True, slots=True)
class Suppress:
    gid: int
    sid: int
    track: str | None = None        # None: every alert of the rule
    ips: AddressSpec | None = None


@dataclass(frozen=True, slots=True)
class EventFilter:
    """`threshold` and `event_filter` (the same thing under two names)."""

    gid: int
    sid: int
    threshold: Threshold


@dataclass(frozen=True, slots=True)
class RateFilter:
    gid: int
    sid: int
    track: str
    count: int
    seconds: int
    new_action: str
    timeout: int
    apply_to: AddressSpec | None = None     # Snort: only for these tracked addresses


@dataclass(frozen=True, slots=True)
class ThresholdConfig:
    suppress: tuple[Suppress, ...] = ()
    filters: tuple[EventFilter, ...] = ()
    rate_filters: tuple[RateFilter, ...] = ()
    file: str = ""

    def __bool__(self) -> bool:
        return bool(self.suppress or self.filters or self.rate_filters)


@dataclass(slots=True)
class _Builder:
    suppress: list[Suppress] = field(default_factory=list)
    filters: list[EventFilter] = field(default_factory=list)
    rate_filters: list[RateFilter] = field(default_factory=list)


def parse_threshold_config(text: str, file: str = "<string>",
                           variables: dict[str, str] | None = None) -> ThresholdConfig:
    built = _Builder()
    values = Variables(variables)
    for line_no, line in _logical(text):
        try:
            _parse_line(line, built, values)
        except InputError as err:
            raise InputError(f"{file}:{line_no}: {err.message}",
                             hint=err.hint or None) from None
    return ThresholdConfig(tuple(built.suppress), tuple(built.filters),
                           tuple(built.rate_filters), file)


def load_threshold_config(path: Path | str,
                          variables: dict[str, str] | None = None) -> ThresholdConfig:
    try:
        text = Path(path).read_text()
    except OSError as exc:
        raise InputError(f"cannot read threshold file {path}: {exc.strerror or exc}") from None
    return parse_threshold_config(text, str(path), variables)


def _logical(text: str) -> list[tuple[int, str]]:
    out: list[tuple[int, str]] = []
    pending: list[str] = []
    start = 0
    for n, raw in enumerate(text.splitlines(), 1):
        line = raw.strip()
        if not pending and (not line or line.startswith("#")):
            continue
        if not pending:
            start = n
        if line.endswith("\\"):
            pending.append(line[:-1])
            continue
        pending.append(line)
        out.append((start, " ".join(pending)))
        pending = []
    if pending:
        out.append((start, " ".join(pending)))
    return out


def _parse_line(line: str, built: _Builder, variables: Variables) -> None:
    kind, _, rest = line.partition(" ")
    if kind not in KINDS:
        raise InputError(f"unknown entry {kind!r}", hint="use " + ", ".join(KINDS))
    fields = _fields(rest)
    unknown = sorted(set(fields) - _ALLOWED[kind])
    if unknown:
        raise InputError(f"{kind} takes no {unknown[0]!r}",
                         hint="fields: " + ", ".join(sorted(_ALLOWED[kind])))
    gid, sid = _int(fields, "gen_id"), _int(fields, "sig_id")
    track = fields.get("track")
    if track is not None and track not in TRACKS:
        raise InputError(f"unknown track {track!r}", hint="use " + ", ".join(TRACKS))
    if kind == "suppress":
        ips = fields.get("ip")
        if (track is None) != (ips is None):
            raise InputError("suppress takes both track and ip, or neither")
        spec = parse_addresses(ips, variables) if ips else None
        built.suppress.append(Suppress(gid, sid, track, spec))
    elif kind == "rate_filter":
        action = fields.get("new_action", "")
        if action not in ACTIONS:
            raise InputError(f"new_action {action!r} is not one of " + ", ".join(ACTIONS))
        apply_to = fields.get("apply_to")
        built.rate_filters.append(RateFilter(
            gid, sid, track or "by_rule", _int(fields, "count"), _int(fields, "seconds"),
            action, _int(fields, "timeout"),
            parse_addresses(apply_to, variables) if apply_to else None))
    else:
        ftype = fields.get("type")
        if ftype not in ("limit", "threshold", "both"):
            raise InputError(f"type {ftype!r} is not limit, threshold or both")
        if track is None or track == "by_either":
            raise InputError(f"{kind} needs track by_src, by_dst, by_rule or by_both")
        threshold = Threshold(ftype, track, _int(fields, "count"),  # type: ignore[arg-type]
                              _int(fields, "seconds"))
        built.filters.append(EventFilter(gid, sid, threshold))


def _fields(rest: str) -> dict[str, str]:
    out: dict[str, str] = {}
    pos = 0
    rest = rest.strip()
    while pos < len(rest):
        m = _FIELD.match(rest, pos)
        if not m:
            raise InputError(f"cannot read {rest[pos:][:40]!r}",
                             hint="fields are `NAME VALUE, ...`")
        if m.group(1) in out:
            raise InputError(f"{m.group(1)} given twice")
        out[m.group(1)] = m.group(2)
        pos = m.end()
    return out


def _int(fields: dict[str, str], name: str) -> int:
    if name not in fields:
        raise InputError(f"missing {name}")
    try:
        value = int(fields[name])
    except ValueError:
        raise InputError(f"{name} {fields[name]!r} is not a number") from None
    if value < 0:
        raise InputError(f"{name} must not be negative")
    return value


__all__ = ["ThresholdConfig", "Suppress", "EventFilter", "RateFilter",
           "parse_threshold_config", "load_threshold_config", "KINDS", "TRACKS"]
