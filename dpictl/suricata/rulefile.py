"""A dpictl RuleSet as a Suricata rule file, with every rule that will not run accounted for.

Three things can keep a rule out: dpictl's parser (already in `RuleSet.errors`), the
translator (`Untranslatable`) and Suricata itself (`suricata -T` names the line of each rule it
rejects). All three are reported as `RuleLoadError`s against the rule's own file and line, so
`rules translate` reads like `rules check`. Rules Suricata rejects are dropped from the file
Suricata finally runs, so one bad rule never stops the other 4000.
"""

from __future__ import annotations

import re
import subprocess
import tempfile
from dataclasses import dataclass, field
from pathlib import Path

from dpictl.errors import InputError
from dpictl.rules import RuleLoadError, RuleSet
from dpictl.rules.ast import Rule
from dpictl.suricata.config import SuricataSettings, write_config
from dpictl.suricata.translate import Untranslatable, translate_rule

# "E: detect: error parsing signature "..." from file /x/y.rules at line 12"
_REJECTED = re.compile(r'error parsing signature .* from file (?P<file>\S+) at line (?P<line>\d+)')
_LOG_LEVEL = re.compile(r"^\s*(?:\S+ - )?(?:<\w+>|[EWNICDA]:)\s*(?:[\w-]+:\s*)?")
_REASON_MAX = 200


@dataclass(slots=True)
class SuricataRules:
    """The rules Suricata will run (one per line, in order) and the ones it will not."""

    rules: list[Rule] = field(default_factory=list)
    lines: list[str] = field(default_factory=list)
    errors: list[RuleLoadError] = field(default_factory=list)
    total: int = 0

    @property
    def loaded(self) -> int:
        return len(self.lines)

    @property
    def failed(self) -> int:
        return len(self.errors)

    def text(self) -> str:
        return "".join(line + "\n" for line in self.lines)

    def write(self, path: Path) -> Path:
        path.write_text(self.text())
        return path

    def drop_lines(self, rejected: dict[int, str]) -> None:
        """Remove the rules at the given 1-based lines of `text()`, recording why."""
        keep_rules, keep_lines = [], []
        for number, (rule, line) in enumerate(zip(self.rules, self.lines), 1):
            if number in rejected:
                self.errors.append(_error(rule, f"Suricata rejects it: {rejected[number]}"))
            else:
                keep_rules.append(rule)
                keep_lines.append(line)
        self.rules, self.lines = keep_rules, keep_lines
        self.errors.sort(key=lambda e: (e.file, e.line))


def translate_ruleset(ruleset: RuleSet) -> SuricataRules:
    """Translate every loaded rule; parse errors and untranslatable rules become errors."""
    out = SuricataRules(errors=list(ruleset.errors), total=ruleset.total)
    for rule in ruleset.rules:
        try:
            text = translate_rule(rule)
        except Untranslatable as err:
            out.errors.append(_error(rule, f"no Suricata translation: {err}"))
            continue
        out.rules.append(rule)
        out.lines.append(text)
    out.errors.sort(key=lambda e: (e.file, e.line))
    return out


def _error(rule: Rule, reason: str) -> RuleLoadError:
    if len(reason) > _REASON_MAX:
        reason = reason[:_REASON_MAX - 3] + "..."
    return RuleLoadError(rule.file or "", rule.line or 0, rule.sid, reason)


def rejected_lines(log: str, rules_path: Path) -> dict[int, str]:
    """Suricata's -T output -> {line of rules_path: the reason Suricata gave}.

    Suricata logs the reason on the line(s) before "error parsing signature ... at line N".
    """
    out: dict[int, str] = {}
    reason: list[str] = []
    for raw in log.splitlines():
        m = _REJECTED.search(raw)
        if m:
            if Path(m.group("file")).name == rules_path.name:
                text = "; ".join(reason) or "error parsing signature"
                out[int(m.group("line"))] = text
            reason = []
        elif "Error" in raw[:40] or raw.lstrip().startswith("E:") or "<Error>" in raw:
            line = _LOG_LEVEL.sub("", raw).strip()
            if line and "Loading signatures failed" not in line:
                reason.append(line)
    return out


def check_with_suricata(srules: SuricataRules, binary: str, variables: dict[str, str],
                        workdir: Path | None = None) -> SuricataRules:
    """Run `suricata -T` on the translated rules and drop (and report) what it rejects.

    Raises InputError when Suricata rejects the file as a whole (no rule line to blame).
    """
    with tempfile.TemporaryDirectory(prefix="dpictl-suricata-T-") as tmp:
        base = Path(workdir or tmp)
        rules_path = srules.write(base / "dpictl-translated.rules")
        config = write_config(SuricataSettings(log_dir=base, rule_files=[rules_path],
                                               variables=variables))
        proc = subprocess.run(
            [binary, "-T", "-c", str(config), "-l", str(base), "-k", "none",
             "--runmode", "single"], capture_output=True, text=True, timeout=600)
        log = proc.stdout + proc.stderr
        rejected = rejected_lines(log, rules_path)
        if proc.returncode != 0 and not rejected:
            last = [ln for ln in log.splitlines() if ln.strip()][-1:] or ["no output"]
            raise InputError(f"Suricata rejected the rule set as a whole: {last[0].strip()}")
    srules.drop_lines(rejected)
    return srules


__all__ = ["SuricataRules", "translate_ruleset", "check_with_suricata", "rejected_lines"]
