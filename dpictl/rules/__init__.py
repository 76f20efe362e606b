"""The Snort rule language (2.9 and 3 syntax): parsing, variables, classtypes, rule sets."""

from __future__ import annotations

from dpictl.rules.ast import Rule
from dpictl.rules.classifications import CLASSIFICATIONS, Classification, lookup
from dpictl.rules.errors import RuleLoadError
from dpictl.rules.parse import parse_rule
from dpictl.rules.ruleset import (FileStats, RuleSet, RuleSource, builtin_rule_sources,
                                  builtin_rules, load_rules, parse_rule_sources,
                                  parse_rules_text, read_rule_sources)
from dpictl.rules.variables import DEFAULT_VARS, Variables, load_conf_vars, parse_var_assignments

__all__ = [
    "Rule", "RuleSet", "RuleLoadError", "FileStats", "load_rules", "parse_rules_text",
    "builtin_rules", "RuleSource", "read_rule_sources", "builtin_rule_sources",
    "parse_rule_sources", "parse_rule", "Variables", "DEFAULT_VARS", "load_conf_vars",
    "parse_var_assignments", "CLASSIFICATIONS", "Classification", "lookup",
]
