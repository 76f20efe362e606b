"""What a sensor loads when the user names no rule files: dpictl's built-in rules plus the
managed ruleset and threshold.config, when `rules update` has written them.

`inspect` and both agents go through here, so they agree on the default. `version()` is what
an agent compares to notice that an update or a policy change replaced the files.
"""

from __future__ import annotations

from pathlib import Path
from typing import Sequence

from dpictl import rules as rules_pkg
from dpictl.engine.rule_cache import CompiledRuleSet, compile_sources
from dpictl.rules import RuleSet
from dpictl.rules.ruleset import builtin_rule_sources, read_rule_sources
from dpictl.rules.threshold_config import ThresholdConfig, load_threshold_config
from dpictl.rulesets.layout import RulesDir


def default_ruleset(variables: dict[str, str] | None = None,
                    rules: RulesDir | None = None) -> RuleSet:
    """The built-in rules, then the managed ones (a managed rule wins a duplicate gid:sid)."""
    rules = rules or RulesDir.default()
    # looked up on the package at call time, like the CLI's own loader, so one seam serves
    result = rules_pkg.builtin_rules(variables)
    if not rules.managed.exists():
        return result
    managed = rules_pkg.load_rules([rules.managed], variables)
    keys = {r.key for r in managed.rules}
    result.rules = [r for r in result.rules if r.key not in keys] + managed.rules
    result.errors += managed.errors
    result.warnings += managed.warnings
    result.total += managed.total
    result.files += managed.files
    return result


def default_compiled(variables: dict[str, str] | None = None,
                     rules: RulesDir | None = None) -> CompiledRuleSet:
    """`default_ruleset`, parsed and compiled through the compiled-rules cache (what
    `inspect` and the agents run when no rule file is named). A gid:sid in both keeps the
    higher rev, as for any duplicate among rule files."""
    rules = rules or RulesDir.default()
    sources = builtin_rule_sources()
    if rules.managed.exists():
        sources += read_rule_sources([rules.managed])
    return compile_sources(sources, variables)


def default_threshold_config(variables: dict[str, str] | None = None,
                             rules: RulesDir | None = None) -> ThresholdConfig | None:
    path = (rules or RulesDir.default()).threshold
    return load_threshold_config(path, variables) if path.exists() else None


def version(paths: Sequence[Path | str], rules: RulesDir | None = None) -> tuple:
    """Changes whenever a file the sensor would load is replaced (atomic renames included)."""
    if not paths:
        rules = rules or RulesDir.default()
        paths = (rules.managed, rules.threshold)
    out = []
    for p in paths:
        try:
            st = Path(p).stat()
            out.append((str(p), st.st_mtime_ns, st.st_size, st.st_ino))
        except OSError:
            out.append((str(p), None))
    return tuple(out)


__all__ = ["default_ruleset", "default_compiled", "default_threshold_config", "version"]
