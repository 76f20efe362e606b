"""Managed rules, as suricata-update does it: sources, fetch, policy, a checked atomic update."""

from dpictl.rulesets.layout import RulesDir

__all__ = ["RulesDir"]
