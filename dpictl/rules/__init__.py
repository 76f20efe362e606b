"""The Snort rule language (2.9 and 3 syntax): parsing, variables, classtypes, rule sets.

The names below load on first use (PEP 562 `__getattr__`): a start that reads its compiled
rules from the cache (`dpictl.engine.rule_cache`) needs the AST classes but never the
parser, whose modules cost ~35 ms of every start.
"""

from __future__ import annotations

from importlib import import_module
from typing import TYPE_CHECKING

_EXPORTS = {
    "Rule": "ast",
    "CLASSIFICATIONS": "classifications", "Classification": "classifications",
    "lookup": "classifications",
    "RuleLoadError": "errors",
    "parse_rule": "parse",
    "FileStats": "ruleset", "RuleSet": "ruleset", "RuleSource": "ruleset",
    "builtin_rule_sources": "ruleset", "builtin_rules": "ruleset", "load_rules": "ruleset",
    "parse_rule_sources": "ruleset", "parse_rules_text": "ruleset",
    "read_rule_sources": "ruleset",
    "DEFAULT_VARS": "variables", "Variables": "variables", "load_conf_vars": "variables",
    "parse_var_assignments": "variables",
}

if TYPE_CHECKING:
    from dpictl.rules.ast import Rule
    from dpictl.rules.classifications import CLASSIFICATIONS, Classification, lookup
    from dpictl.rules.errors import RuleLoadError
    from dpictl.rules.parse import parse_rule
    from dpictl.rules.ruleset import (FileStats, RuleSet, RuleSource, builtin_rule_sources,
                                      builtin_rules, load_rules, parse_rule_sources,
                                      parse_rules_text, read_rule_sources)
    from dpictl.rules.variables import (DEFAULT_VARS, Variables, load_conf_vars,
                                        parse_var_assignments)


def __getattr__(name: str):
    module = _EXPORTS.get(name)
    if module is None:
        raise AttributeError(f"module {__name__!r} has no attribute {name!r}")
    value = getattr(import_module(f"{__name__}.{module}"), name)
    globals()[name] = value
    return value


__all__ = [
    "Rule", "RuleSet", "RuleLoadError", "FileStats", "load_rules", "parse_rules_text",
    "builtin_rules", "RuleSource", "read_rule_sources", "builtin_rule_sources",
    "parse_rule_sources", "parse_rule", "Variables", "DEFAULT_VARS", "load_conf_vars",
    "parse_var_assignments", "CLASSIFICATIONS", "Classification", "lookup",
]
