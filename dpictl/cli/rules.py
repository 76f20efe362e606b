"""`dpictl rules check|show`: parse Snort rule files, report what loads, show one parsed rule.

Thin: parse options, call `dpictl.rules`, render. `check` exits 3 (bad input) when any rule
failed to load, so CI can gate a rules change on it.
"""

from __future__ import annotations

import dataclasses
import json
from pathlib import Path
from typing import TYPE_CHECKING, Any, Optional, Protocol

import typer

from dpictl.errors import InputError, NotFound, UsageError

# The rules package and rich load only when a rules command runs: every other command (and
# `--version`) starts without paying for the parser.
if TYPE_CHECKING:
    from rich.console import Console
    from rich.table import Table

    from dpictl.rules import RuleSet
    from dpictl.rules.errors import RuleLoadError
    from dpictl.rules.ast import Rule

rules_app = typer.Typer(name="rules", no_args_is_help=True,
                        help="Check Snort rule files (2.9 or 3 syntax) and show parsed rules; "
                             "manage rules from sources, as suricata-update does.")

_VAR_HELP = "Set a rule variable, e.g. --var HOME_NET=10.0.0.0/8 (repeatable)."
_DISABLED_HELP = "Also load commented-out rules (# alert ...), as Calico DPI does."
_CONF_HELP = "A snort.conf whose ipvar/portvar/var lines set the variables (--var wins)."


def _variables(conf: Path | None, var: list[str]) -> dict[str, str]:
    from dpictl.rules import load_conf_vars, parse_var_assignments

    values = load_conf_vars(conf) if conf is not None else {}
    values.update(parse_var_assignments(var))
    return values


def _console(stderr: bool = False) -> Console:
    from rich.console import Console

    from dpictl.cli.render.theme import THEME

    return Console(theme=THEME, highlight=False, stderr=stderr)


@rules_app.command("check")
def check_cmd(
    files: list[Path] = typer.Argument(..., help="Rule files or directories of *.rules."),
    output: str = typer.Option("table", "--output", "-o", help="table or json."),
    var: list[str] = typer.Option([], "--var", help=_VAR_HELP),
    conf: Optional[Path] = typer.Option(None, "--conf", help=_CONF_HELP),  # noqa: UP007
    include_disabled: bool = typer.Option(False, "--include-disabled", help=_DISABLED_HELP),
) -> None:
    """Parse rule files and report how many rules load, and why the others do not.

    Exit status: 0 when every rule loads; 3 when any rule fails or a file is missing.
    """
    if output not in ("table", "json"):
        raise UsageError(f"unknown output {output!r}", hint="use -o table or -o json")
    from dpictl.rules import load_rules

    ruleset = compiled(load_rules(list(files), _variables(conf, var),
                                  include_disabled=include_disabled))
    out = _console()
    if output == "json":
        out.file.write(json.dumps(check_json(ruleset), indent=2) + "\n")
    else:
        _render_check(out, ruleset)
    if ruleset.failed:
        # an error (not typer.Exit) so that dpictl.cli.main maps it to exit status 3
        raise InputError(f"{ruleset.failed} of {ruleset.total} rules failed to load")


def compiled(ruleset: RuleSet) -> RuleSet:
    """`ruleset` as `inspect` would run it: every parsed rule also goes through the engine's
    compile step, and a rule the engine drops (a pcre that does not compile, a protocol with
    no parser, a pass rule) counts as failed with its file, line and the engine's reason;
    a rule loaded with a caveat adds a warning. Parsing alone said "loaded" for both."""
    from dpictl.engine.detect import compile_rules
    from dpictl.rules.errors import RuleLoadError

    report = compile_rules(ruleset.rules).report
    where = {rule.key: rule for rule in ruleset.rules}
    dropped = {(p.gid, p.sid): p.reason for p in report if p.dropped}
    errors, warnings = list(ruleset.errors), list(ruleset.warnings)
    files = {stats.file: dataclasses.replace(stats) for stats in ruleset.files}
    for problem in report:
        rule = where[(problem.gid, problem.sid)]
        found = RuleLoadError(rule.file or "", rule.line or 0, rule.sid, problem.reason)
        (errors if problem.dropped else warnings).append(found)
        stats = files.get(rule.file or "")
        if problem.dropped and stats is not None:
            stats.loaded -= 1
            stats.failed += 1
    errors.sort(key=lambda e: (e.file, e.line))
    return dataclasses.replace(ruleset, rules=[r for r in ruleset.rules
                                               if r.key not in dropped],
                               errors=errors, warnings=warnings, files=list(files.values()))


class LoadResult(Protocol):
    """What `rules check` and `rules translate` report: a RuleSet or a SuricataRules."""

    total: int
    errors: list[RuleLoadError]

    @property
    def loaded(self) -> int: ...

    @property
    def failed(self) -> int: ...


def check_json(result: LoadResult) -> dict[str, Any]:
    """The `rules check -o json` document: totals over all files and every load error."""
    return {
        "total": result.total,
        "loaded": result.loaded,
        "failed": result.failed,
        "errors": [e.to_dict() for e in result.errors],
    }


def errors_table(title: str, errors: list[RuleLoadError]) -> Table:
    """Each rule that was left out: file, line, sid and why."""
    from rich.table import Table

    table = Table(title=title, title_justify="left")
    for column in ("file", "line", "sid", "reason"):
        table.add_column(column, overflow="fold")
    for e in errors:
        table.add_row(e.file, str(e.line), "" if e.sid is None else str(e.sid), e.reason)
    return table


def _render_check(out: Console, ruleset: RuleSet) -> None:
    from rich.table import Table

    files = Table(title="Rule files", title_justify="left")
    for column in ("file", "total", "loaded", "failed"):
        files.add_column(column, justify="left" if column == "file" else "right")
    for stats in ruleset.files:
        style = "summary.bad" if stats.failed else ""
        files.add_row(stats.file, str(stats.total), str(stats.loaded), str(stats.failed),
                      style=style)
    out.print(files)
    if ruleset.errors:
        out.print(errors_table("Rules that did not load", ruleset.errors))
    for w in ruleset.warnings:
        out.print(f"warning: {w}", style="warning")
    style = "summary.bad" if ruleset.failed else "summary"
    out.print(f"{ruleset.loaded} of {ruleset.total} rules loaded, {ruleset.failed} failed",
              style=style)


@rules_app.command("show")
def show_cmd(
    sid: int = typer.Argument(..., help="The rule's sid."),
    gid: int = typer.Option(1, "--gid", help="The rule's gid."),
    rules: list[Path] = typer.Option([], "--rules", "-r",
                                     help="Rule files (default: the built-in rules)."),
    output: str = typer.Option("text", "--output", "-o", help="text or json."),
    var: list[str] = typer.Option([], "--var", help=_VAR_HELP),
    conf: Optional[Path] = typer.Option(None, "--conf", help=_CONF_HELP),  # noqa: UP007
    include_disabled: bool = typer.Option(False, "--include-disabled", help=_DISABLED_HELP),
) -> None:
    """Print one rule as dpictl parsed it: header, metadata and every option in order."""
    if output not in ("text", "json"):
        raise UsageError(f"unknown output {output!r}", hint="use -o text or -o json")
    from dpictl.rules import builtin_rules, load_rules

    values = _variables(conf, var)
    ruleset = (load_rules(list(rules), values, include_disabled=include_disabled) if rules
               else builtin_rules(values))
    rule = ruleset.by_sid(sid, gid)
    if rule is None:
        where = ", ".join(map(str, rules)) or "the built-in rules"
        failed = [e for e in ruleset.errors if e.sid == sid]
        if failed:
            raise InputError(f"rule {gid}:{sid} in {where} did not load: {failed[0]}")
        raise NotFound(f"no rule {gid}:{sid} in {where}")
    out = _console()
    if output == "json":
        out.file.write(json.dumps(rule_json(rule), indent=2) + "\n")
        return
    _render_rule(out, rule)


def rule_json(rule: Rule) -> dict[str, Any]:
    """The parsed rule as JSON-safe data (patterns as latin-1 text with \\xNN escapes)."""
    data = dataclasses.asdict(rule)
    data["options"] = [{"type": type(o).__name__, **_plain(dataclasses.asdict(o))}
                       for o in rule.options]
    return _plain(data)


def _plain(value: Any) -> Any:
    if isinstance(value, bytes):
        return value.decode("latin-1").encode("unicode_escape").decode("ascii")
    if isinstance(value, dict):
        return {k: _plain(v) for k, v in value.items()}
    if isinstance(value, (list, tuple)):
        return [_plain(v) for v in value]
    return value


def _render_rule(out: Console, rule: Rule) -> None:
    from dpictl.rules import lookup

    description, _ = lookup(rule.classtype)
    out.print(f"[alert.sid]{rule.gid}:{rule.sid}:{rule.rev}[/] {rule.msg}")
    out.print(f"  classtype {rule.classtype or '-'} ({description or '-'}), "
              f"priority {rule.priority}, {rule.syntax} syntax, {rule.file}:{rule.line}")
    arrow = "<>" if rule.bidirectional else "->"
    out.print(f"  {rule.action} {rule.proto} {_side(rule.src, rule.src_ports)} {arrow} "
              f"{_side(rule.dst, rule.dst_ports)}"
              + (f"  services: {', '.join(rule.services)}" if rule.services else ""))
    for i, option in enumerate(rule.options, 1):
        out.print(f"  {i:2}. {_option_text(option)}", markup=False)
    out.print(f"  text: {rule.text}", markup=False, style="dim")


def _side(addr: Any, ports: Any) -> str:
    a = "any" if addr.any and not addr.exclude else ",".join(
        list(addr.include) + [f"!{x}" for x in addr.exclude]) or "any"
    p = "any" if ports.any and not ports.exclude else ",".join(
        [f"{lo}" if lo == hi else f"{lo}:{hi}" for lo, hi in ports.include]
        + [f"!{lo}:{hi}" for lo, hi in ports.exclude])
    if len(p) > 40:
        p = p[:37] + "..."
    return f"{a} {p}"


def _option_text(option: Any) -> str:
    fields = []
    for f in dataclasses.fields(option):
        value = getattr(option, f.name)
        if value != f.default and value not in (None, False, ()):
            fields.append(f"{f.name}={_plain(value)!r}" if f.name != "pattern"
                          else f"pattern={value!r}")
    return f"{type(option).__name__}({', '.join(fields)})"


def register(app: typer.Typer) -> None:
    """Add `dpictl rules ...` to the root app."""
    from dpictl.cli import rules_policy, rules_sources, rules_translate, rules_update

    for module in (rules_sources, rules_update, rules_policy, rules_translate):
        module.register(rules_app)
    app.add_typer(rules_app, name="rules")


__all__ = ["register", "rules_app", "check_json", "rule_json", "errors_table", "LoadResult"]
