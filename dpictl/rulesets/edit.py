"""Policy edits that take effect at once: write the policy file, rebuild the managed ruleset
from the cached downloads, and put the policy file back if the rebuild is refused (so the
files on disk always describe the ruleset in use)."""

from __future__ import annotations

from dpictl.errors import DpictlError
from dpictl.rulesets.fetch import cache_paths
from dpictl.rulesets.layout import POLICY_FILES, RulesDir, locked
from dpictl.rulesets.policy import add_lines, load_policy
from dpictl.rulesets.sources import load_sources
from dpictl.rulesets.update import UpdateReport, update_unlocked


def edit_policy(rules: RulesDir, kind: str, lines: list[str]) -> tuple[list[str],
                                                                       UpdateReport | None]:
    """(lines added, the rebuild's report or None when nothing has been fetched yet)."""
    with locked(rules):
        saved = {k: _read(rules, k) for k in POLICY_FILES}
        try:
            added = add_lines(rules, kind, lines)
            load_policy(rules)             # a line that does not parse fails here, named
            report = update_unlocked(rules, False, None) if _fetched(rules) else None
            return added, report
        except DpictlError:
            _restore(rules, saved)
            raise


def _fetched(rules: RulesDir) -> bool:
    sources = [s for s in load_sources(rules) if s.enabled]
    return bool(sources) and all(cache_paths(rules.cache, s)[0].exists() for s in sources)


def _read(rules: RulesDir, kind: str) -> bytes | None:
    path = rules.policy(kind)
    return path.read_bytes() if path.exists() else None


def _restore(rules: RulesDir, saved: dict[str, bytes | None]) -> None:
    for kind, data in saved.items():
        path = rules.policy(kind)
        if data is None:
            path.unlink(missing_ok=True)
        elif not path.exists() or path.read_bytes() != data:
            path.write_bytes(data)


__all__ = ["edit_policy"]
