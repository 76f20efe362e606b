"""`dpictl rules enable|disable|modify|list`: the policy over the managed ruleset.

enable/disable/modify only edit the policy files (enable.conf, disable.conf, modify.conf),
then rebuild the managed ruleset from the cached downloads so the change applies at once.
"""

from __future__ import annotations

import json
from typing import TYPE_CHECKING

import typer

from dpictl.errors import UsageError

if TYPE_CHECKING:
    from dpictl.rulesets.update import UpdateReport

_MATCHER_HELP = "SID, GID:SID, re:REGEX, group:FILE or metadata:KEY VALUE."


def _dir():
    from dpictl.rulesets import RulesDir

    return RulesDir.default()


def _edit(kind: str, lines: list[str]) -> None:
    from dpictl.rulesets.edit import edit_policy

    added, report = edit_policy(_dir(), kind, lines)
    typer.echo(f"{kind}.conf: {len(added)} line(s) added" if added
               else f"{kind}.conf: already there")
    _show(report)


def _show(report: UpdateReport | None) -> None:
    if report is None:
        typer.echo("no source fetched yet: the policy applies at `dpictl rules update`")
        return
    from dpictl.cli.rules_update import console, print_report

    print_report(console(), report)


def enable_cmd(matchers: list[str] = typer.Argument(..., help=_MATCHER_HELP)) -> None:
    """Enable the rules these matchers select (in enable.conf), and apply it."""
    _check(matchers)
    _edit("enable", matchers)


def disable_cmd(matchers: list[str] = typer.Argument(..., help=_MATCHER_HELP)) -> None:
    """Disable the rules these matchers select (in disable.conf), and apply it."""
    _check(matchers)
    _edit("disable", matchers)


def modify_cmd(matcher: str = typer.Argument(..., help=_MATCHER_HELP),
               from_: str = typer.Argument(..., metavar="FROM", help="A regex over the rule."),
               to: str = typer.Argument(..., help="Its replacement (${1} for a group).")) -> None:
    """Rewrite the selected rules (a modify.conf line), and apply it."""
    from dpictl.rulesets.policy import parse_modify, quote

    line = f"{matcher} {quote(from_)} {quote(to)}"
    parse_modify(line)
    _edit("modify", [line])


def list_cmd(enabled: bool = typer.Option(False, "--enabled", help="Only enabled rules."),
             disabled: bool = typer.Option(False, "--disabled", help="Only disabled rules."),
             grep: str = typer.Option(None, "--grep", help="Only rules whose text has TEXT "
                                      "(case-insensitive)."),
             output: str = typer.Option("table", "--output", "-o", help="table or json.")) -> None:
    """List the rules of the managed ruleset."""
    if output not in ("table", "json"):
        raise UsageError(f"unknown output {output!r}", hint="use -o table or -o json")
    if enabled and disabled:
        raise UsageError("--enabled and --disabled exclude each other")
    from dpictl.rulesets.managed import read_managed

    needle = grep.lower() if grep else None
    entries = [e for e in read_managed(_dir().managed)
               if (not enabled or e.enabled) and (not disabled or not e.enabled)
               and (needle is None or needle in e.text.lower())]
    if output == "json":
        typer.echo(json.dumps([{"gid": e.gid, "sid": e.sid, "rev": e.rev, "msg": e.msg,
                                "enabled": e.enabled, "action": e.action,
                                "source": e.source, "group": e.group} for e in entries],
                              indent=2))
        return
    _table(entries)


def _table(entries: list) -> None:
    from rich.table import Table

    from dpictl.cli.rules_update import console

    if not entries:
        typer.echo("no rules (none match, or no managed ruleset yet: dpictl rules update)")
        return
    table = Table(title_justify="left", box=None)
    for column in ("gid:sid", "rev", "state", "group", "msg"):
        table.add_column(column, overflow="fold")
    for e in entries:
        table.add_row(f"{e.gid}:{e.sid}", str(e.rev), "on" if e.enabled else "off",
                      f"{e.source}/{e.group}", e.msg, style="" if e.enabled else "dim")
    out = console()
    out.print(table)
    out.print(f"{len(entries):,} rule(s)", style="summary")


def _check(matchers: list[str]) -> None:
    from dpictl.rulesets.matchers import parse_matcher

    for text in matchers:
        parse_matcher(text)


def register(rules_app: typer.Typer) -> None:
    rules_app.command("enable")(enable_cmd)
    rules_app.command("disable")(disable_cmd)
    rules_app.command("modify")(modify_cmd)
    rules_app.command("list")(list_cmd)


__all__ = ["register"]
