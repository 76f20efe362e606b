"""`dpictl inspect`: run the rules over pcap files or live interfaces, store and show the alerts.

Thin on purpose: it parses options, opens the sources, and hands packets to
`dpictl.alerts.inspection.Inspection`, which commits every alert to the store before the
renderers here print it. Errors are raised as dpictl errors; `dpictl.cli.main` prints them.
"""

from __future__ import annotations

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
                 err: Console) -> tuple[list, Any, int, int]:
    """(rules, compiled rules, loaded, failed), each load error reported as one
    `file:line: reason` line. Compiled through the on-disk rule cache (unchanged rules
    start in a fraction of the compile time). Raises InputError when not one rule loads."""
    from dpictl import engine
    from dpictl.cli.render.progress import print_line

    for path in paths:
        if not path.exists():
            raise InputError(f"{path}: no such rule file or directory")
    if paths:
        loaded_rules = engine.load_compiled([str(p) for p in paths], variables or None)
    else:  # the built-in rules, plus the managed ruleset once `rules update` wrote one
        from dpictl.rulesets.active import default_compiled

        loaded_rules = default_compiled(variables or None)
    ruleset = loaded_rules.ruleset
    rules = list(ruleset.rules)
    errors = [_error_text(e) for e in ruleset.errors]
    if not rules:
        # One line: the first reason says more than a count.
        names = ", ".join(str(p) for p in paths) or "the built-in rules"
        why = f" ({len(errors)} errors, first: {errors[0]})" if errors else " (no rules in it)"
        raise InputError(f"no rules could be loaded from {names}{why}",
                         hint="fix the rule file or pass another --rules file")
    for line in errors:
        print_line(err, line, style="warning")
    return rules, loaded_rules.compiled, ruleset.loaded, ruleset.failed


def _error_text(error: Any) -> str:
    """`file:line: reason` for a RuleLoadError (or anything shaped like one)."""
    file, line = getattr(error, "file", None), getattr(error, "line", None)
    reason = getattr(error, "reason", None) or str(error)
    if file and line:
        return f"{file}:{line}: {reason}"
    return f"{file}: {reason}" if file else str(reason)


def _sink(output: str, out: Console, keys: tuple[str, ...],
          eve_packet: bool = False) -> tuple[Callable[[list], None], list]:
    """What to do with each committed batch of alerts, and the list -o json collects into."""
    from dpictl.cli.render.eve import write_eve
    from dpictl.cli.render.table import StreamingAlertTable

    collected: list = []
    if output == "eve":
        return (lambda alerts: write_eve(out, alerts, eve_packet)), collected
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


def _open_live(options: Any) -> Any:
    """Open every capture socket now, before any rule is compiled: a missing interface or a
    missing capability fails in a blink, with one line."""
    from dpictl.errors import CaptureError, PermissionDenied
    from dpictl.live import LiveInspection

    where = ", ".join(options.interfaces)
    try:
        return LiveInspection(options)
    except PermissionError as exc:
        raise PermissionDenied(f"cannot capture on {where}: {exc.strerror}",
                               hint="run as root or grant CAP_NET_RAW") from None
    except OSError as exc:
        raise CaptureError(f"cannot capture on {where}: {exc}") from None


def _run_live(inspection: Any, live: Any, label: str, output: str, out: Console,
              err: Console) -> Any:
    """Capture until Ctrl-C or SIGTERM (stopping is the normal way to end, not an error).
    With `-o eve`, a stats event is written every --stats-interval seconds and at the end."""
    from dpictl.cli.render.eve import write_eve_event
    from dpictl.cli.render.progress import print_line

    workers = live.options.workers
    print_line(err, f"capturing on {label} with {workers} worker{'s' if workers > 1 else ''} "
               "(Ctrl-C to stop)", style="dim")

    def on_stats(stats: Any) -> None:
        if output == "eve":
            write_eve_event(out, stats.to_eve())

    return live.run(inspection.engine, inspection.emit, on_stats)


def _close(sources: list[Any]) -> None:
    for src in sources:
        src.close()


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
    workers: Optional[int] = typer.Option(
        None, "--workers", "-w", min=1, max=256,
        help="live: worker processes sharing each interface (default: one per CPU)."),
    stats_interval: float = typer.Option(
        8.0, "--stats-interval", min=0.1, max=86400.0,
        help="live: seconds between stats events with -o eve (and one at the end)."),
    ring_size: int = typer.Option(
        32, "--ring-size", min=2, max=4096,
        help="live: capture ring per interface and worker, in MiB."),
    eve_packet: bool = typer.Option(
        False, "--eve-packet", help="with -o eve: add payload, payload_printable and packet "
        "to each alert, as Suricata does."),
    packet_limit: int = typer.Option(
        65536, "--packet-bytes", min=0, max=262144,
        help="keep at most this many bytes of each alert's packet in the store (0: none)."),
    flow_packets: int = typer.Option(
        8, "--flow-packets", min=0, max=64,
        help="keep each flow's last N packets (2 KiB each, 16 MiB per process), stored with its "
        "alerts as what led up to them (0: none)."),
    threshold_file: Optional[Path] = typer.Option(
        None, "--threshold-file", help="threshold.config: suppress, threshold, event_filter, "
        "rate_filter (default without --rules: the managed one, if any)."),
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
                                     variables, output, db, no_store, out, err,
                                     stats_interval=stats_interval)
    if pcaps:
        sources = _open_pcaps(pcaps)
    else:
        from dpictl.live import LiveOptions

        sources = [_open_live(LiveOptions(
            interfaces=tuple(interfaces), netns=netns, workers=workers or _cpus(),
            stats_interval=stats_interval, ring_mb=ring_size))]
    thresholds = _thresholds(threshold_file, bool(rules), variables)
    try:
        _inspect(sources, pcaps, interfaces, netns, list(rules or []), variables, output, db,
                 no_store, out, err, eve_packet=eve_packet, packet_limit=packet_limit,
                 flow_packets=flow_packets,
                 thresholds=thresholds)
    finally:
        _close(sources)


def _inspect(sources: list[Any], pcaps: list[Path], interfaces: list[str],
             netns: Optional[str], rule_paths: list[Path], variables: dict[str, str],
             output: str, db: Optional[Path], no_store: bool, out: Console,
             err: Console, *, eve_packet: bool = False, packet_limit: int = 65536,
             flow_packets: int = 8,
             thresholds: Any = None) -> None:
    rule_list, compiled, loaded, failed = load_ruleset(rule_paths, variables, err)

    from dpictl.alerts.inspection import Inspection
    from dpictl.cli.render.progress import print_line, summary_line
    from dpictl.engine import Engine

    engine = Engine(rule_list, threshold_config=thresholds, compiled=compiled,
                    flow_packets=flow_packets)
    unsupported = sum(1 for problem in engine.rule_report if problem.dropped)
    store = _open_store(db, no_store)
    # No DPI resource runs here, and a pcap has no interface: leave those columns out.
    keys = ("time", "source", "dest", "sid", "message") if pcaps else (
        "time", "endpoint", "source", "dest", "sid", "message")
    sink, collected = _sink(output, out, keys, eve_packet)
    inspection = Inspection(engine, sink, store, packet_limit=packet_limit)
    live_stats = None
    try:
        if pcaps:
            _run_pcaps(inspection, sources, err)
        else:
            where = f" in netns {netns}" if netns else ""
            live_stats = _run_live(inspection, sources[0], ", ".join(interfaces) + where,
                                   output, out, err)
    finally:
        # Whatever was found before a failure is already stored; show it too.
        if output == "json":
            from dpictl.cli.render.json import write_calico_json

            write_calico_json(out, collected)
        if store is not None:
            store.close()
    counts = inspection.counts
    source = (", ".join(p.name for p in pcaps) if pcaps else ", ".join(interfaces))
    packets, nbytes = counts.packets, counts.bytes
    if live_stats is not None:
        from dpictl.cli.render.progress import capture_line

        packets, nbytes = live_stats.decoded, live_stats.bytes
        line, lost = capture_line(live_stats, sources[0].failures)
        print_line(err, line, style="warning" if lost else None)
    print_line(err, summary_line(packets=packets, nbytes=nbytes,
                                 alerts=counts.alerts, rules_loaded=loaded - unsupported,
                                 rules_failed=failed, rules_unsupported=unsupported,
                                 seconds=counts.elapsed, source=source,
                                 stored_in=str(store.path) if store is not None else None))


def _cpus() -> int:
    """Worker default: the CPUs this process may run on (a cgroup or taskset may allow
    fewer than the machine has)."""
    import os

    try:
        return max(1, len(os.sched_getaffinity(0)))
    except (AttributeError, OSError):
        return max(1, os.cpu_count() or 1)


def _thresholds(path: Optional[Path], explicit_rules: bool, variables: dict[str, str]) -> Any:
    """--threshold-file, else (with the default rules) the managed threshold.config."""
    if path is not None:
        from dpictl.rules.threshold_config import load_threshold_config

        return load_threshold_config(path, variables)
    if explicit_rules:
        return None
    from dpictl.rulesets.active import default_threshold_config

    return default_threshold_config(variables)


def register(app: typer.Typer) -> None:
    """Add `dpictl inspect` to the root app."""
    app.command("inspect", no_args_is_help=True)(inspect_cmd)


__all__ = ["register", "inspect_cmd", "load_ruleset"]
