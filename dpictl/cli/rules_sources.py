"""`dpictl rules source add|list|remove|enable|disable`: where managed rules come from.

Thin: each command edits `sources.yaml` through `dpictl.rulesets.sources` and says what it did.
"""

from __future__ import annotations

import json

import typer

source_app = typer.Typer(name="source", no_args_is_help=True,
                         help="Rule sources for `dpictl rules update` (URLs or files).")


def _dir():
    from dpictl.rulesets import RulesDir

    return RulesDir.default()


@source_app.command("add")
def add_cmd(name: str = typer.Argument(..., help="A name for the source, e.g. community."),
            location: str = typer.Argument(..., help="http(s):// or file:// URL, or a path, "
                                           "of a .rules, .tar.gz or .zip.")) -> None:
    """Add a rule source; `dpictl rules update` fetches it."""
    from dpictl.rulesets.sources import add_source

    source = add_source(_dir(), name, location)
    typer.echo(f"added source {source.name}: {source.url} (run `dpictl rules update`)")


@source_app.command("list")
def list_cmd(output: str = typer.Option("table", "--output", "-o", help="table or json.")) -> None:
    """List the rule sources."""
    from dpictl.errors import UsageError
    from dpictl.rulesets.sources import load_sources

    if output not in ("table", "json"):
        raise UsageError(f"unknown output {output!r}", hint="use -o table or -o json")
    sources = load_sources(_dir())
    if output == "json":
        typer.echo(json.dumps([s.to_dict() for s in sources], indent=2))
        return
    if not sources:
        typer.echo("no rule sources (add one: dpictl rules source add NAME URL|PATH)")
        return
    width = max(len(s.name) for s in sources)
    for s in sources:
        typer.echo(f"{s.name:<{width}}  {'enabled ' if s.enabled else 'disabled'}  {s.url}")


@source_app.command("remove")
def remove_cmd(name: str = typer.Argument(..., help="The source's name.")) -> None:
    """Remove a source (its rules leave the managed ruleset at the next update)."""
    from dpictl.rulesets.sources import remove_source

    remove_source(_dir(), name)
    typer.echo(f"removed source {name}")


@source_app.command("enable")
def enable_cmd(name: str = typer.Argument(..., help="The source's name.")) -> None:
    """Enable a source again."""
    from dpictl.rulesets.sources import set_enabled

    set_enabled(_dir(), name, True)
    typer.echo(f"enabled source {name}")


@source_app.command("disable")
def disable_cmd(name: str = typer.Argument(..., help="The source's name.")) -> None:
    """Disable a source without forgetting it."""
    from dpictl.rulesets.sources import set_enabled

    set_enabled(_dir(), name, False)
    typer.echo(f"disabled source {name}")


def register(rules_app: typer.Typer) -> None:
    rules_app.add_typer(source_app, name="source")


__all__ = ["register", "source_app"]
