"""A managed rule as policy sees it: its ids, its text, enabled or not, where it came from.

Policy needs only a rule's sid, gid, rev, msg and metadata, and whether it is commented out,
so this reads just those options (the full parse and compile happen once, when the update
checks the result). Written on dpictl's own lexer rather than idstools' parser because that
one cannot read Snort 3 headers such as `alert http (...)`.
"""

from __future__ import annotations

from dataclasses import dataclass, replace
from typing import Iterator

from dpictl.rules.tokens import logical_lines, split_options, split_rule


@dataclass(frozen=True, slots=True)
class RuleEntry:
    gid: int
    sid: int
    rev: int
    msg: str
    text: str                      # the rule, without a leading '#'
    enabled: bool
    group: str = ""                # the file's name inside its source
    source: str = ""
    metadata: tuple[str, ...] = ()
    flowbits: tuple[str, ...] = ()    # each `flowbits:` value, e.g. "set,exe.download"

    @property
    def key(self) -> tuple[int, int]:
        return (self.gid, self.sid)

    @property
    def action(self) -> str:
        return self.text.split(None, 1)[0]

    def line(self) -> str:
        return self.text if self.enabled else f"# {self.text}"

    def but(self, **changes: object) -> RuleEntry:
        return replace(self, **changes)


@dataclass(frozen=True, slots=True)
class Unreadable:
    """An active line that is not a rule dpictl can identify (no sid, no options)."""

    group: str
    line: int
    text: str


def read_entries(text: str, group: str, source: str) -> Iterator[RuleEntry | Unreadable]:
    """Every rule of a rules file, enabled or commented out, in file order."""
    physical = text.splitlines()
    for logical in logical_lines(text, include_disabled=True):
        enabled = not physical[logical.line - 1].lstrip().startswith("#")
        entry = entry_from_text(logical.text, enabled, group, source)
        if entry is None:
            if enabled:
                yield Unreadable(group, logical.line, logical.text)
            continue
        yield entry


def entry_from_text(text: str, enabled: bool, group: str = "",
                    source: str = "") -> RuleEntry | None:
    try:
        _, body = split_rule(text)
        options = split_options(body)
    except Exception:  # noqa: BLE001 - the lexer's errors: not a rule we can identify
        return None
    values: dict[str, str] = {}
    metadata: list[str] = []
    flowbits: list[str] = []
    for key, value in options:
        key = key.lower()
        if key == "flowbits" and value:
            flowbits.append(value.strip().replace(" ", ""))
        elif key == "metadata" and value:
            metadata += [m.strip() for m in value.split(",") if m.strip()]
        elif key in ("sid", "gid", "rev", "msg") and value is not None:
            values.setdefault(key, value.strip())
    try:
        sid = int(values["sid"])
        gid = int(values.get("gid", 1))
        rev = int(values.get("rev", 1))
    except (KeyError, ValueError):
        return None
    msg = values.get("msg", "").strip('"')
    return RuleEntry(gid, sid, rev, msg, text, enabled, group, source, tuple(metadata),
                     tuple(flowbits))


__all__ = ["RuleEntry", "Unreadable", "read_entries", "entry_from_text"]
