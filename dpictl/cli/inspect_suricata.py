"""`dpictl inspect --engine suricata`: the same command with Suricata doing the packet work.

Kept apart from cli/inspect.py so that module stays about the Python engine; this one only
checks the engine choice, opens the same sinks and store, and hands everything to
`dpictl.suricata.session.SuricataSession`. Suricata's own logs go to a temporary directory
that is removed afterwards, or to $DPICTL_SURICATA_LOG_DIR when set (kept).
"""

from __future__ import annotations

import os
from pathlib import Path
from typing import TYPE_CHECKING, Any, Optional

from dpictl.errors import PcapError, UsageError

if TYPE_CHECKING:
    from rich.console import Console

ENGINES = ("python", "suricata")


def inspect_with_suricata(engine: str, pcaps: list[Path], interfaces: list[str],
                          netns: Optional[str], rule_paths: list[Path],
                          variables: dict[str, str], output: str, db: Optional[Path],
                          no_store: bool, out: Console, err: Console,
                          stats_interval: float = 8.0) -> None:
    if engine not in ENGINES:
        raise UsageError(f"unknown engine {engine!r}", hint="use --engine python or suricata")
    for path in pcaps:
        if not path.exists():
            raise PcapError(f"{path}: no such file")
        if path.is_dir():
            raise PcapError(f"{path}: is a directory, not a capture file")
    from dpictl.cli.inspect import _error_text, _open_store, _sink
    from dpictl.cli.render.eve import write_eve_event
    from dpictl.cli.render.progress import capture_line, print_line
    from dpictl.rules import builtin_rules, load_rules
    from dpictl.suricata.binary import find_suricata
    from dpictl.suricata.session import SuricataSession

    binary = find_suricata()
    ruleset = (load_rules([str(p) for p in rule_paths], variables) if rule_paths
               else builtin_rules(variables or None))
    keys = ("time", "source", "dest", "sid", "message") if pcaps else (
        "time", "endpoint", "source", "dest", "sid", "message")
    sink, collected = _sink(output, out, keys)
    store = _open_store(db, no_store)
    try:
        log_dir = os.environ.get("DPICTL_SURICATA_LOG_DIR")
        session = SuricataSession(binary, ruleset, variables, sink, store,
                                  log_dir=Path(log_dir) if log_dir else None)
        for error in session.errors:
            print_line(err, _error_text(error), style="warning")
        if output == "eve":
            # live: Suricata's stats records, re-emitted in the Python live engine's shape
            session.on_stats = lambda stats: write_eve_event(out, stats.to_eve())
        try:
            if pcaps:
                session.run_pcaps(pcaps)
            else:
                where = f" in netns {netns}" if netns else ""
                session.run_live(interfaces, netns=netns, on_started=lambda: print_line(
                    err, f"Suricata {binary.version_text} capturing on "
                    f"{', '.join(interfaces)}{where} (Ctrl-C to stop)", style="dim"),
                    stats_interval=stats_interval)
        finally:
            session.close()
    finally:
        if output == "json":
            from dpictl.cli.render.json import write_calico_json

            write_calico_json(out, collected)
        if store is not None:
            store.close()
    if output == "eve" and pcaps:
        write_eve_event(out, {"event_type": "stats", "stats": {
            **_nested(session.counts.stats), "dpictl": {"engine": "suricata"}}})
    if session.live_stats is not None:
        line, lost = capture_line(session.live_stats)
        print_line(err, line, style="warning" if lost else None)
    print_line(err, _summary(session, pcaps, interfaces, store))


def _nested(flat: dict[str, int]) -> dict:
    """`{"decoder.pkts": 10}` -> `{"decoder": {"pkts": 10}}`, EVE's own shape."""
    out: dict = {}
    for path, value in flat.items():
        node = out
        *parents, leaf = path.split(".")
        for part in parents:
            node = node.setdefault(part, {})
        node[leaf] = value
    return out


def _summary(session: Any, pcaps: list[Path], interfaces: list[str], store: Any) -> str:
    counts = session.counts
    source = ", ".join(p.name for p in pcaps) if pcaps else ", ".join(interfaces)
    line = (f"suricata: {counts.packets:,} packets ({counts.bytes:,} bytes) from {source} in "
            f"{counts.elapsed:.2f}s: {counts.alerts:,} alert{'s' if counts.alerts != 1 else ''}"
            f"; rules: {session.rules.loaded:,} loaded, {session.rules.failed:,} failed")
    if store is not None and counts.alerts:
        line += f"; stored in {store.path}"
    return line


__all__ = ["inspect_with_suricata", "ENGINES"]
