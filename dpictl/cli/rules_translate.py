"""`dpictl rules translate FILE --to suricata`: print rules in Suricata 7 syntax.

Thin: load with dpictl's parser, translate (`dpictl.suricata.rulefile`), optionally let
Suricata itself check the result, render. Rules that do not make it are listed the way
`rules check` lists rules that fail to load (file, line, sid, reason) on stderr, so stdout
is a rule file that can be redirected as it is.
"""

from __future__ import annotations

import json
from pathlib import Path
from typing import Optional

import typer

from dpictl.cli.rules import (_CONF_HELP, _DISABLED_HELP, _VAR_HELP, _console, _variables,
                              check_json, errors_table)
from dpictl.errors import InputError, UsageError

_TARGETS = ("suricata",)


def translate_cmd(
    files: list[Path] = typer.Argument(..., help="Rule files or directories of *.rules."),
    to: str = typer.Option("suricata", "--to", help="Target syntax: suricata (Suricata 7)."),
    check: bool = typer.Option(
        True, "--check/--no-check",
        help="Run `suricata -T` on the result and leave out (and report) what it rejects."),
    output: Optional[Path] = typer.Option(  # noqa: UP007
        None, "--output", "-o", help="Write the rules here instead of stdout."),
    errors_format: str = typer.Option("table", "--errors", help="table or json (on stderr)."),
    var: list[str] = typer.Option([], "--var", help=_VAR_HELP),
    conf: Optional[Path] = typer.Option(None, "--conf", help=_CONF_HELP),  # noqa: UP007
    include_disabled: bool = typer.Option(False, "--include-disabled", help=_DISABLED_HELP),
) -> None:
    """Translate Snort rules (2.9 or 3) into Suricata 7 rules and print them.

    Snort 2.9 rules pass through as they are; Snort 3 rules are rebuilt from the parsed rule.
    Exit status: 0 when every rule made it; 3 when any rule was left out (listed on stderr).
    """
    if to not in _TARGETS:
        raise UsageError(f"unknown target {to!r}", hint="use --to suricata")
    if errors_format not in ("table", "json"):
        raise UsageError(f"unknown --errors {errors_format!r}", hint="use table or json")
    from dpictl.rules import load_rules
    from dpictl.suricata.rulefile import check_with_suricata, translate_ruleset

    values = _variables(conf, var)
    result = translate_ruleset(load_rules(list(files), values,
                                          include_disabled=include_disabled))
    if check:
        from dpictl.suricata.binary import find_suricata

        result = check_with_suricata(result, find_suricata().path, values)
    if output is not None:
        try:
            result.write(output)
        except OSError as exc:
            raise InputError(f"cannot write {output}: {exc.strerror or exc}") from None
    else:
        typer.echo(result.text(), nl=False)
    _report(result, errors_format, checked=check)
    if result.failed:
        raise InputError(f"{result.failed} of {result.total} rules were left out")


def _report(result, errors_format: str, *, checked: bool) -> None:
    err = _console(stderr=True)
    if errors_format == "json":
        err.file.write(json.dumps(check_json(result), indent=2) + "\n")
        return
    if result.errors:
        err.print(errors_table("Rules left out", result.errors))
    what = "load in Suricata" if checked else "translated"
    err.print(f"{result.loaded} of {result.total} rules {what}, {result.failed} left out",
              style="summary.bad" if result.failed else "summary")


def register(rules_app: typer.Typer) -> None:
    rules_app.command("translate")(translate_cmd)


__all__ = ["register", "translate_cmd"]
