"""The gate before a ruleset replaces the one in use: every enabled rule must parse, and the
whole set must compile, exactly as a sensor will load it. Anything less refuses the update.
"""

from __future__ import annotations

from dataclasses import dataclass

from dpictl.errors import RulesUpdateError
from dpictl.rulesets.entries import RuleEntry


@dataclass(frozen=True, slots=True)
class CheckResult:
    loaded: int         # enabled rules that parsed
    unsupported: int    # parsed, but use something the engine cannot evaluate
    seconds: float


def check_ruleset(text: str, at: dict[int, RuleEntry], filename: str) -> CheckResult:
    """Parse and compile `text` (the managed file about to be written); RulesUpdateError
    names the first rule that fails, by its source and file, and how many do."""
    import time

    from dpictl.engine import Engine
    from dpictl.rules import parse_rules_text

    started = time.monotonic()
    ruleset = parse_rules_text(text, filename)
    if ruleset.errors:
        first = ruleset.errors[0]
        entry = at.get(first.line)
        where = f"{entry.source}/{entry.group}" if entry else filename
        sid = f"{entry.gid}:{entry.sid}" if entry else str(first.sid or "?")
        raise RulesUpdateError(
            f"update refused, the previous ruleset stays: {len(ruleset.errors)} enabled rule(s) "
            f"do not load; first: rule {sid} from {where}: {first.reason}",
            hint=f"fix the source, or disable the rule: dpictl rules disable {sid}")
    try:
        engine = Engine(ruleset.rules)
    except Exception as exc:  # noqa: BLE001 - any compile failure must refuse the update
        raise RulesUpdateError(f"update refused, the previous ruleset stays: the ruleset does "
                               f"not compile: {type(exc).__name__}: {exc}") from None
    stats = engine.stats
    return CheckResult(loaded=ruleset.loaded, unsupported=stats.get("rules_dropped", 0),
                       seconds=time.monotonic() - started)


__all__ = ["CheckResult", "check_ruleset"]
