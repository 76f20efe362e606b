"""Loading rule files into a `RuleSet`: counts, per-rule errors, duplicates, built-in rules.

Only active rule text counts: blank lines and comments (including commented-out `# alert`
rules, as Snort 2.9 files ship most of theirs) are skipped. `ipvar`/`portvar`/`var` lines
in a rules file define variables for the rules after them. A rule that does not parse
becomes a `RuleLoadError` (file, line, sid, reason) and the rest still load; any other
active line is reported the same way. `include` lines are followed (`includes.py`): the
included file's rules load in place, its errors carry its own name and lines.

Duplicate (gid, sid): like Snort 3, the rule with the higher rev wins, and on equal revs the
later one; the one dropped is named in `warnings` (not in `errors`: nothing failed).
"""

from __future__ import annotations

import hashlib
import re
from dataclasses import dataclass, field
from importlib import resources
from pathlib import Path

from dpictl.errors import InputError, RuleSyntaxError
from dpictl.rules.ast import Rule
from dpictl.rules.classifications import is_known
from dpictl.rules.errors import RuleLoadError
from dpictl.rules.includes import IncludeError, IncludeSite, included_file, read_included
from dpictl.rules.variables import Variables

_VAR_LINE = re.compile(r"(ipvar|portvar|var)\s+(\S+)\s+(.+)\Z")


@dataclass(slots=True)
class FileStats:
    """Per-file counts (before duplicates across files are resolved)."""

    file: str
    total: int = 0
    loaded: int = 0
    failed: int = 0


@dataclass(slots=True)
class RuleSet:
    rules: list[Rule] = field(default_factory=list)
    errors: list[RuleLoadError] = field(default_factory=list)
    warnings: list[RuleLoadError] = field(default_factory=list)
    total: int = 0
    files: list[FileStats] = field(default_factory=list)
    # (path, SHA-256 hex) of every file an `include` line read: the rule cache keys on the
    # named files' bytes and checks these before trusting an entry
    included: list[tuple[str, str]] = field(default_factory=list)

    @property
    def loaded(self) -> int:
        return len(self.rules)

    @property
    def failed(self) -> int:
        return len(self.errors)

    def by_sid(self, sid: int, gid: int = 1) -> Rule | None:
        for rule in self.rules:
            if rule.sid == sid and rule.gid == gid:
                return rule
        return None


class _Loader:
    """Accumulates one RuleSet over several texts with one variable table."""

    def __init__(self, variables: Variables) -> None:
        self.variables = variables
        self.result = RuleSet()
        self._index: dict[tuple[int, int], int] = {}

    def add_text(self, text: str, filename: str, include_disabled: bool = False,
                 chain: tuple[IncludeSite, ...] = ()) -> None:
        # The parser loads when there is text to parse: a start from the rule cache never
        # parses, and these modules are ~35 ms of import time.
        from dpictl.rules.dialect import file_hint
        from dpictl.rules.header import ACTIONS
        from dpictl.rules.parse import parse_rule
        from dpictl.rules.tokens import logical_lines

        stats = FileStats(filename)
        self.result.files.append(stats)
        hint = file_hint(text)
        for logical in logical_lines(text, include_disabled):
            first = logical.text.split(None, 1)[0].lower()
            if first in ("ipvar", "portvar", "var"):
                self._define(logical.text, filename, logical.line)
                continue
            if first == "include":
                self._include(logical.text, IncludeSite(filename, logical.line), chain,
                              include_disabled)
                continue
            stats.total += 1
            try:
                if first not in ACTIONS:
                    raise RuleSyntaxError(f"not a rule: {logical.text[:60]!r}")
                rule = parse_rule(logical.text, self.variables, file=filename,
                                  line=logical.line, hint=hint)
            except RuleSyntaxError as err:
                stats.failed += 1
                self.result.errors.append(
                    RuleLoadError.from_syntax_error(err, filename, logical.line))
                continue
            stats.loaded += 1
            self._keep(rule)
        self.result.total += stats.total

    def _include(self, text: str, site: IncludeSite, chain: tuple[IncludeSite, ...],
                 include_disabled: bool) -> None:
        """Load the file an `include` line names, in place; a missing file or a cycle is
        one error at the include line and the rest still load."""
        try:
            path = included_file(text, site, chain, self.variables)
            data = read_included(path)
        except IncludeError as err:
            self.result.errors.append(RuleLoadError(site.file, site.line, None, str(err)))
            return
        self.result.included.append((str(path), hashlib.sha256(data).hexdigest()))
        self.add_text(data.decode("utf-8", "surrogateescape"), str(path), include_disabled,
                      chain + (site,))

    def _define(self, text: str, filename: str, line: int) -> None:
        m = _VAR_LINE.match(text.strip())
        try:
            if not m:
                raise InputError(f"bad variable line {text[:60]!r}")
            self.variables.set(m.group(2), m.group(3))
        except InputError as err:
            self.result.errors.append(RuleLoadError(filename, line, None, err.message))

    def _keep(self, rule: Rule) -> None:
        if rule.classtype is not None and not is_known(rule.classtype):
            self.result.warnings.append(RuleLoadError(
                rule.file or "", rule.line or 0, rule.sid,
                f"unknown classtype {rule.classtype!r}; priority {rule.priority}"))
        at = self._index.get(rule.key)
        if at is None:
            self._index[rule.key] = len(self.result.rules)
            self.result.rules.append(rule)
            return
        old = self.result.rules[at]
        winner, loser = (old, rule) if old.rev > rule.rev else (rule, old)
        self.result.rules[at] = winner
        self.result.warnings.append(RuleLoadError(
            loser.file or "", loser.line or 0, loser.sid,
            f"duplicate rule {rule.gid}:{rule.sid}: rev {loser.rev} replaced by rev "
            f"{winner.rev} at {winner.file}:{winner.line}"))


def parse_rules_text(text: str, filename: str = "<string>",
                     vars: dict[str, str] | None = None, *,
                     include_disabled: bool = False) -> RuleSet:
    """Parse rules from a string (tests, inline rules, stdin)."""
    loader = _Loader(Variables(vars))
    loader.add_text(text, filename, include_disabled)
    return loader.result


@dataclass(frozen=True, slots=True)
class RuleSource:
    """One rule file's name (as rules and errors will cite it) and its bytes.

    Reading is split from parsing so that a caller can key a cache on exactly the bytes
    that are then parsed (`dpictl.engine.rule_cache`)."""

    name: str
    data: bytes


def load_rules(paths: list[Path | str] | tuple[Path | str, ...],
               vars: dict[str, str] | None = None, *,
               include_disabled: bool = False) -> RuleSet:
    """Load rule files (a directory means its `*.rules` files, sorted) into one RuleSet.

    A missing or unreadable file raises InputError; broken rules inside a file do not.
    `include_disabled` also loads commented-out rules (`# alert ...`), as Calico's DPI
    does with the Snort 2.9 community file (whose lab rule, sid 21562, ships disabled).
    """
    return parse_rule_sources(read_rule_sources(paths), vars,
                              include_disabled=include_disabled)


def read_rule_sources(paths: list[Path | str] | tuple[Path | str, ...]) -> list[RuleSource]:
    """The files `load_rules` would read, in order; InputError when one cannot be read."""
    return [RuleSource(str(file), _read(file))
            for path in paths for file in _expand(Path(path))]


def builtin_rule_sources() -> list[RuleSource]:
    """dpictl's own rule files (what `builtin_rules` parses)."""
    folder = resources.files("dpictl.rules").joinpath("builtin")
    return [RuleSource(f"builtin/{entry.name}", entry.read_bytes())
            for entry in sorted(folder.iterdir(), key=lambda e: e.name)
            if entry.name.endswith(".rules")]


def parse_rule_sources(sources: list[RuleSource], vars: dict[str, str] | None = None, *,
                       include_disabled: bool = False) -> RuleSet:
    """Parse already-read rule files into one RuleSet, with one variable table."""
    loader = _Loader(Variables(vars))
    for source in sources:
        loader.add_text(source.data.decode("utf-8", "surrogateescape"), source.name,
                        include_disabled)
    return loader.result


def _expand(path: Path) -> list[Path]:
    if path.is_dir():
        files = sorted(path.glob("*.rules"))
        if not files:
            raise InputError(f"no *.rules files in directory {path}")
        return files
    return [path]


def _read(path: Path) -> bytes:
    try:
        return path.read_bytes()
    except FileNotFoundError:
        raise InputError(f"rules file not found: {path}",
                         hint="check the path given to --rules") from None
    except IsADirectoryError:
        raise InputError(f"rules path is a directory: {path}") from None
    except OSError as exc:
        raise InputError(f"cannot read rules file {path}: {exc.strerror or exc}") from None


def builtin_rules(vars: dict[str, str] | None = None) -> RuleSet:
    """dpictl's own small ruleset (used when no --rules is given)."""
    return parse_rule_sources(builtin_rule_sources(), vars)


__all__ = ["FileStats", "RuleSet", "RuleSource", "load_rules", "parse_rules_text",
           "builtin_rules", "read_rule_sources", "builtin_rule_sources", "parse_rule_sources"]
