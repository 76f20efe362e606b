"""`dpictl inspect`: run the rules over pcap files or live interfaces, store and show the alerts.

Thin on purpose: it parses options, opens the sources, and hands packets to
`dpictl.alerts.inspection.Inspection`, which commits every alert to the store before the
renderers here print it. Errors are raised as dpictl errors; `dpictl.cli.main` prints them.
"""

from __future__ import annotations

import signal
from pathlib import Path
from typing import TYPE_CHECKING, Any, Callable, Optional

import typer

from dpictl.cli import params
from dpictl.errors import InputError, PcapError, UsageError

# rich and the renderers load when `dpictl inspect` runs, not with every other command.
if TYPE_CHECKING:
    from rich.console import Console

OUTPUTS = ("table", "eve", "json")


def _parse_vars(items: list[str]) -> dict[str, str]:
    out: dict[str, str] = {}
    for item in items:
        name, sep, value = item.partition("=")
        if not sep or not name.strip():
            raise UsageError(f"--var {item!r} is not NAME=VALUE",
                             hint="e.g. --var HOME_NET=10.0.0.0/8")
        out[name.strip().lstrip("$")] = value.strip()
    return out


def load_ruleset(paths: list[Path], variables: dict[str, str],
                 err: Console) -> tuple[list, int, int]:
    """(rules, loaded, failed), each load error reported as one `file:line: reason` line.
    Raises InputError when not one rule loads."""
    from dpictl import rules as rules_pkg
    from dpictl.cli.render.progress import print_line

    for path in paths:
        if not path.exists():
            raise InputError(f"{path}: no such rule file or directory")
    if paths:
        ruleset = rules_pkg.load_rules([str(p) for p in paths], variables)
    else:
        ruleset = rules_pkg.builtin_rules(variables or None)
    rules = list(getattr(ruleset, "rules", ruleset))
    errors = [_error_text(e) for e in getattr(ruleset, "errors", [])]
    if not rules:
        # One line: the first reason says more than a count.
        names = ", ".join(str(p) for p in paths) or "the built-in rules"
        why = f" ({len(errors)} errors, first: {errors[0]})" if errors else " (no rules in it)"
        raise InputError(f"no rules could be loaded from {names}{why}",
                         hint="fix the rule file or pass another --rules file")
    for line in errors:
        print_line(err, line, style="warning")
    loaded = int(getattr(ruleset, "loaded", len(rules)))
    failed = int(getattr(ruleset, "failed", len(errors)))
    return rules, loaded, failed


def _error_text(error: Any) -> str:
    """`file:line: reason` for a RuleLoadError (or anything shaped like one)."""
    file, line = getattr(error, "file", None), getattr(error, "line", None)
    reason = getattr(error, "reason", None) or str(error)
    if file and line:
        return f"{file}:{line}: {reason}"
    return f"{file}: {reason}" if file else str(reason)


def _sink(output: str, out: Console,
          keys: tuple[str, ...]) -> tuple[Callable[[list], None], list]:
    """What to do with each committed batch of alerts, and the list -o json collects into."""
    from dpictl.cli.render.eve import write_eve
    from dpictl.cli.render.table import StreamingAlertTable

    collected: list = []
    if output == "eve":
        return (lambda alerts: write_eve(out, alerts)), collected
    if output == "json":
        return collected.extend, collected
    table = StreamingAlertTable(out, keys=keys)
    return table.add, collected


def _stdout_console() -> Console:
    from rich.console import Console

    from dpictl.cli.render.theme import THEME

    # A table piped to a file should not be squeezed into 80 columns.
    probe = Console(theme=THEME)
    width = None if probe.is_terminal else max(probe.width, 160)
    return Console(theme=THEME, highlight=False, width=width)


def _open_store(db: Optional[Path], no_store: bool) -> Any:
    if no_store:
        return None
    from dpictl.alerts.store import AlertStore

    return AlertStore(db)


def _open_pcaps(pcaps: list[Path]) -> list[Any]:
    """Open every file before any rule is compiled: a bad path fails in a blink."""
    from dpictl.capture import open_pcap

    for path in pcaps:
        if not path.exists():
            raise PcapError(f"{path}: no such file")
        if path.is_dir():
            raise PcapError(f"{path}: is a directory, not a capture file")
    return [open_pcap(str(p)) for p in pcaps]


def _run_pcaps(inspection: Any, sources: list[Any], err: Console) -> None:
    from dpictl.cli.render.progress import UPDATE_EVERY, byte_progress

    total = sum(int(getattr(s, "size", 0) or 0) for s in sources)
    with byte_progress(err, total) as update:
        done = 0
        for src in sources:
            def on_packet(n: int, src: Any = src, base: int = done) -> None:
                if n % UPDATE_EVERY == 0:
                    update(base + int(getattr(src, "position", 0) or 0))
            inspection.run(src, on_packet)
            done += int(getattr(src, "size", 0) or 0)
            update(done)


def _open_live(interfaces: list[str], netns: Optional[str]) -> Any:
    from dpictl.capture import AfPacketSource
    from dpictl.errors import CaptureError, PermissionDenied

    try:
        return AfPacketSource(interfaces, netns=netns)
    except PermissionError as exc:
        raise PermissionDenied(f"cannot capture on {', '.join(interfaces)}: {exc.strerror}",
                               hint="run as root or grant CAP_NET_RAW") from None
    except OSError as exc:
        raise CaptureError(f"cannot capture on {', '.join(interfaces)}: {exc}") from None


def _sigterm_as_interrupt(signum: int, frame: object) -> None:
    raise KeyboardInterrupt


def _run_live(inspection: Any, source: Any, label: str, err: Console) -> None:
    """Capture until Ctrl-C (or SIGTERM); stopping is the normal way to end, not an error."""
    from dpictl.cli.render.progress import print_line

    print_line(err, f"capturing on {label} (Ctrl-C to stop)", style="dim")
    previous = signal.signal(signal.SIGTERM, _sigterm_as_interrupt)
    try:
        inspection.run(source)
    except KeyboardInterrupt:
        pass
    finally:
        signal.signal(signal.SIGTERM, previous)


def _close(sources: list[Any]) -> None:
    for src in sources:
        close = getattr(src, "close", None) or getattr(src, "stop", None)
        if close:
            close()


def inspect_cmd(
    pcap: Optional[list[Path]] = typer.Option(
        None, "--pcap", "-r", help="pcap or pcapng file to read (repeatable)."),
    interface: Optional[list[str]] = typer.Option(
        None, "--interface", "-i", help="interface to capture on, live (repeatable)."),
    netns: Optional[str] = typer.Option(
        None, "--netns", help="network namespace the interfaces live in."),
    rules: Optional[list[Path]] = typer.Option(
        None, "--rules", "-R", help="Snort 2.9/3 rule file (repeatable; default: built-in rules)."),
    var: Optional[list[str]] = typer.Option(
        None, "--var", help="rule variable NAME=VALUE, e.g. HOME_NET=10.0.0.0/8 (repeatable)."),
    output: str = typer.Option("table", "--output", "-o", help="table, eve (JSON lines) or json."),
    db: Optional[Path] = params.DbOpt,
    no_store: bool = typer.Option(False, "--no-store", help="do not store the alerts."),
    engine: str = typer.Option("python", "--engine", help="python (built in) or suricata."),
) -> None:
    """Inspect pcap files or live interfaces with Snort rules; alerts are stored, then shown."""
    if output not in OUTPUTS:
        raise UsageError(f"unknown output {output!r}", hint="use one of: " + ", ".join(OUTPUTS))
    pcaps, interfaces = list(pcap or []), list(interface or [])
    if bool(pcaps) == bool(interfaces):
        raise UsageError("give --pcap FILE or --interface IF (one kind, not both)")
    if netns and pcaps:
        raise UsageError("--netns only applies to --interface")
    from rich.console import Console

    from dpictl.cli.render.theme import THEME

    err = Console(stderr=True, theme=THEME, highlight=False)
    out = _stdout_console()
    variables = _parse_vars(list(var or []))
    if engine != "python":
        from dpictl.cli.inspect_suricata import inspect_with_suricata

        return inspect_with_suricata(engine, pcaps, interfaces, netns, list(rules or []),
                                     variables, output, db, no_store, out, err)
    sources = _open_pcaps(pcaps) if pcaps else [_open_live(interfaces, netns)]
    try:
        _inspect(sources, pcaps, interfaces, netns, list(rules or []), variables, output, db,
                 no_store, out, err)
    finally:
        _close(sources)


def _inspect(sources: list[Any], pcaps: list[Path], interfaces: list[str],
             netns: Optional[str], rule_paths: list[Path], variables: dict[str, str],
             output: str, db: Optional[Path], no_store: bool, out: Console,
             err: Console) -> None:
    rule_list, loaded, failed = load_ruleset(rule_paths, variables, err)

    from dpictl.alerts.inspection import Inspection
    from dpictl.cli.render.progress import print_line, summary_line
    from dpictl.engine import Engine

    engine = Engine(rule_list)
    unsupported = sum(1 for p in getattr(engine, "rule_report", []) if getattr(p, "dropped", 1))
    store = _open_store(db, no_store)
    # No DPI resource runs here, and a pcap has no interface: leave those columns out.
    keys = ("time", "source", "dest", "sid", "message") if pcaps else (
        "time", "endpoint", "source", "dest", "sid", "message")
    sink, collected = _sink(output, out, keys)
    inspection = Inspection(engine, sink, store)
    try:
        if pcaps:
            _run_pcaps(inspection, sources, err)
        else:
            where = f" in netns {netns}" if netns else ""
            _run_live(inspection, sources[0], ", ".join(interfaces) + where, err)
    finally:
        # Whatever was found before a failure is already stored; show it too.
        if output == "json":
            from dpictl.cli.render.json import write_calico_json

            write_calico_json(out, collected)
        if store is not None:
            store.close()
    counts = inspection.counts
    source = (", ".join(p.name for p in pcaps) if pcaps else ", ".join(interfaces))
    print_line(err, summary_line(packets=counts.packets, nbytes=counts.bytes,
                                 alerts=counts.alerts, rules_loaded=loaded - unsupported,
                                 rules_failed=failed, rules_unsupported=unsupported,
                                 seconds=counts.elapsed, source=source,
                                 stored_in=str(store.path) if store is not None else None))


def register(app: typer.Typer) -> None:
    """Add `dpictl inspect` to the root app."""
    app.command("inspect", no_args_is_help=True)(inspect_cmd)


__all__ = ["register", "inspect_cmd", "load_ruleset"]
