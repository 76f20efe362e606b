"""`rules update`: fetch every enabled source, merge, apply the policy, check, then swap the
managed ruleset in, and report what changed since the last one.

Like suricata-update, rules that set a flowbit an enabled rule tests are enabled with it.
Every step before the final rename may fail - a source that cannot be fetched, a corrupt
archive, a rule that does not parse, a set that does not compile - and each leaves the
ruleset in use untouched. `rebuild` runs the same steps on the cached downloads, so a policy
change takes effect without touching the network.
"""

from __future__ import annotations

import time
from dataclasses import dataclass, field
from pathlib import PurePosixPath
from typing import Callable
from urllib.parse import urlparse

from dpictl.errors import RulesUpdateError
from dpictl.rulesets.archive import rule_files
from dpictl.rulesets.check import CheckResult, check_ruleset
from dpictl.rulesets.entries import RuleEntry, Unreadable, read_entries
from dpictl.rulesets.fetch import Fetched, Progress, cache_paths, fetch
from dpictl.rulesets.flowbits import enable_flowbit_dependencies
from dpictl.rulesets.layout import RulesDir, locked, write_atomically
from dpictl.rulesets.managed import read_managed, render
from dpictl.rulesets.policy import load_policy
from dpictl.rulesets.sources import Source, load_sources

# called once per source: returns the progress callback for its download
ProgressFactory = Callable[[Source], Progress | None]


@dataclass(slots=True)
class Changes:
    added: list[tuple[int, int]] = field(default_factory=list)
    removed: list[tuple[int, int]] = field(default_factory=list)
    modified: list[tuple[int, int]] = field(default_factory=list)
    enabled: list[tuple[int, int]] = field(default_factory=list)
    disabled: list[tuple[int, int]] = field(default_factory=list)

    @property
    def any(self) -> bool:
        return any((self.added, self.removed, self.modified, self.enabled, self.disabled))


@dataclass(frozen=True, slots=True)
class SourceResult:
    name: str
    not_modified: bool
    size: int
    files: int
    rules: int


@dataclass(slots=True)
class UpdateReport:
    sources: list[SourceResult]
    total: int
    enabled: int
    changes: Changes
    check: CheckResult
    duplicates: int
    seconds: dict[str, float]
    path: str
    flowbit_enabled: list[tuple[int, int]] = field(default_factory=list)


def update(rules: RulesDir, *, refetch: bool = True,
           progress: ProgressFactory | None = None) -> UpdateReport:
    """Fetch (or, with refetch=False, reuse the cache), merge, apply policy, check, write."""
    with locked(rules):
        return update_unlocked(rules, refetch, progress)


def update_unlocked(rules: RulesDir, refetch: bool,
                    progress: ProgressFactory | None) -> UpdateReport:
    """`update` for a caller that already holds `locked(rules)`."""
    started = time.monotonic()
    sources = [s for s in load_sources(rules) if s.enabled]
    if not sources:
        raise RulesUpdateError("no enabled rule sources",
                               hint="add one: dpictl rules source add NAME URL|PATH")
    fetched = [_fetch(rules, s, refetch, progress) for s in sources]
    t_fetch = time.monotonic()
    merged, results, duplicates = _merge(fetched)
    policy = load_policy(rules)
    entries, flowbit_enabled = enable_flowbit_dependencies([policy.apply(e) for e in merged])
    text, at = render(entries)
    t_merge = time.monotonic()
    check = check_ruleset(text, at, str(rules.managed))
    _check_thresholds(rules)
    changes = diff(read_managed(rules.managed), entries)
    write_atomically(rules.managed, text.encode("utf-8", "surrogateescape"))
    done = time.monotonic()
    return UpdateReport(
        sources=results, total=len(entries), enabled=sum(e.enabled for e in entries),
        changes=changes, check=check, duplicates=duplicates, path=str(rules.managed),
        flowbit_enabled=flowbit_enabled,
        seconds={"fetch": t_fetch - started, "merge": t_merge - t_fetch,
                 "check": check.seconds, "total": done - started})


def _fetch(rules: RulesDir, source: Source, refetch: bool,
           progress: ProgressFactory | None) -> Fetched:
    if refetch:
        return fetch(source, rules.cache, progress(source) if progress else None)
    data, _ = cache_paths(rules.cache, source)
    if not data.exists():
        raise RulesUpdateError(f"source {source.name} has not been fetched yet",
                               hint="run dpictl rules update")
    return Fetched(source, data, True, data.stat().st_size)


def _merge(fetched: list[Fetched]) -> tuple[list[RuleEntry], list[SourceResult], int]:
    """All sources' rules in order; on a duplicate gid:sid the higher rev wins (then the later)."""
    by_key: dict[tuple[int, int], int] = {}
    merged: list[RuleEntry] = []
    results: list[SourceResult] = []
    duplicates = 0
    for item in fetched:
        name = PurePosixPath(urlparse(item.source.url).path).name or item.source.name
        files = rule_files(item.path.read_bytes(), name, item.source.name)
        if not files:
            raise RulesUpdateError(f"source {item.source.name}: no .rules files in it")
        count = 0
        for group, text in sorted(files.items()):
            for entry in read_entries(text, group, item.source.name):
                if isinstance(entry, Unreadable):
                    raise RulesUpdateError(
                        f"update refused, the previous ruleset stays: source "
                        f"{item.source.name}: {group}:{entry.line}: not a rule "
                        f"(no sid): {entry.text[:60]!r}")
                count += 1
                at = by_key.get(entry.key)
                if at is None:
                    by_key[entry.key] = len(merged)
                    merged.append(entry)
                    continue
                duplicates += 1
                if entry.rev >= merged[at].rev:
                    merged[at] = entry
        results.append(SourceResult(item.source.name, item.not_modified, item.size,
                                    len(files), count))
    return merged, results, duplicates


def _check_thresholds(rules: RulesDir) -> None:
    if rules.threshold.exists():
        from dpictl.rules.threshold_config import load_threshold_config

        load_threshold_config(rules.threshold)


def diff(old: list[RuleEntry], new: list[RuleEntry]) -> Changes:
    before = {e.key: e for e in old}
    after = {e.key: e for e in new}
    changes = Changes()
    for key, entry in after.items():
        prev = before.get(key)
        if prev is None:
            changes.added.append(key)
            continue
        if prev.text != entry.text:
            changes.modified.append(key)
        if prev.enabled != entry.enabled:
            (changes.enabled if entry.enabled else changes.disabled).append(key)
    changes.removed = [key for key in before if key not in after]
    return changes


__all__ = ["update", "update_unlocked", "diff", "Changes", "UpdateReport", "SourceResult",
           "ProgressFactory"]
