"""The `dpictl` command line: the root Typer app and the one error boundary.

Each command group lives in its own module and adds itself with `register(app)`; the
composition root below lists them literally, so what the CLI offers is read in one place.
Commands never catch errors: `main()` turns a `DpictlError` into one line on stderr and its
exit code, and `--debug` (or DPICTL_DEBUG=1) re-raises to show the traceback.
"""

from __future__ import annotations

import os
import signal
import sys
from typing import Optional

import typer

from dpictl import __version__
from dpictl.errors import DpictlError, ExitCode

app = typer.Typer(
    name="dpictl",
    help="Deep packet inspection for Kubernetes workloads: Snort rules, real captures, "
         "a local netns lab and real clusters.",
    no_args_is_help=True,
    rich_markup_mode="rich",
    pretty_exceptions_enable=False,
    add_completion=False,
    context_settings={"help_option_names": ["-h", "--help"]},
)


def _version_callback(value: bool) -> None:
    if value:
        typer.echo(f"dpictl {__version__}")
        raise typer.Exit()


@app.callback()
def _root(
    version: Optional[bool] = typer.Option(  # noqa: UP007 - typer needs Optional
        None, "--version", callback=_version_callback, is_eager=True,
        help="Print the version and exit."),
    debug: bool = typer.Option(False, "--debug", help="Show tracebacks for errors."),
) -> None:
    """dpictl: run DPI on selected workloads, see alerts, tear it down again."""
    if debug:
        os.environ["DPICTL_DEBUG"] = "1"


def _register_groups() -> None:
    # The composition root: every command group, in the order `--help` lists them.
    from dpictl.cli import agent, alerts, completion, flows, graph, inspect, kubectl, lab, rules

    for module in (inspect, rules, alerts, flows, graph, kubectl, lab, agent, completion):
        module.register(app)


_register_groups()


def _error_line(err: DpictlError) -> str:
    line = f"dpictl: error: {err}"
    if err.hint:
        line += f" ({err.hint})"
    return line.replace("\n", " ")


def main(argv: list[str] | None = None) -> None:
    """Console-script entry point: run the app, map errors to one line and an exit code."""
    debug = os.environ.get("DPICTL_DEBUG") == "1" or "--debug" in (argv or sys.argv)
    # `dpictl ... -o eve | head` should end quietly, as any Unix filter does when its reader goes.
    signal.signal(signal.SIGPIPE, signal.SIG_DFL)
    try:
        # With standalone_mode=False click returns a command's exit code instead of exiting.
        code = app(args=argv, standalone_mode=False)
        if isinstance(code, int) and code:
            sys.exit(code)
    except DpictlError as err:
        if debug:
            raise
        print(_error_line(err), file=sys.stderr)
        sys.exit(int(err.exit_code))
    except KeyboardInterrupt:
        print("dpictl: interrupted", file=sys.stderr)
        sys.exit(int(ExitCode.INTERRUPTED))
    except typer.Exit as exc:
        sys.exit(exc.exit_code)
    except typer.Abort:
        print("dpictl: aborted", file=sys.stderr)
        sys.exit(int(ExitCode.INTERRUPTED))
    except BrokenPipeError:
        sys.exit(0)
    except Exception as exc:  # the click layer: usage errors carry their own exit code
        import click

        if isinstance(exc, click.ClickException):
            exc.show()
            sys.exit(exc.exit_code)
        if debug:
            raise
        print(f"dpictl: internal error: {type(exc).__name__}: {exc} "
              "(run with --debug for the traceback and report it)", file=sys.stderr)
        sys.exit(int(ExitCode.ERROR))


__all__ = ["app", "main"]
