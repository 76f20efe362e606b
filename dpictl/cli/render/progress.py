"""Progress while reading capture files, and the one-line summary at the end of a run.

The bar goes to stderr and only when stderr is a terminal, so piped stdout (EVE lines, JSON)
stays clean and CI logs do not fill with redraws.
"""

from __future__ import annotations

from contextlib import contextmanager
from typing import TYPE_CHECKING, Callable, Iterator

from rich.console import Console
from rich.progress import (BarColumn, DownloadColumn, Progress, TextColumn,
                           TimeRemainingColumn, TransferSpeedColumn)

if TYPE_CHECKING:
    from dpictl.live.stats import LiveStats

# Redraw at most every this many packets: the bar must not cost more than the inspection.
UPDATE_EVERY = 512

ByteProgress = Callable[[int], None]


@contextmanager
def byte_progress(console: Console, total: int, label: str = "reading") -> Iterator[ByteProgress]:
    """Yields `update(bytes_done)`; a no-op when the console is not a terminal."""
    if not console.is_terminal or total <= 0:
        yield lambda done: None
        return
    progress = Progress(TextColumn("[bold]{task.description}"), BarColumn(), DownloadColumn(),
                        TransferSpeedColumn(), TimeRemainingColumn(), console=console,
                        transient=True)
    with progress:
        task = progress.add_task(label, total=total)
        yield lambda done: progress.update(task, completed=min(done, total))


def _plural(n: int, word: str) -> str:
    return f"{n:,} {word}" + ("" if n == 1 else "s")


def summary_line(*, packets: int, nbytes: int, alerts: int, rules_loaded: int, rules_failed: int,
                 seconds: float, source: str, stored_in: str | None = None,
                 rules_unsupported: int = 0) -> str:
    """`10 packets (1,046 bytes) from lab-smk.pcap in 0.05s: 1 alert; rules: 3 loaded, 0 failed`.

    `rules_failed` did not parse; `rules_unsupported` parsed but use something the engine
    cannot evaluate (`dpictl rules` lists them), so they never alert.
    """
    line = (f"{_plural(packets, 'packet')} ({_plural(nbytes, 'byte')}) from {source} in "
            f"{seconds:.2f}s: {_plural(alerts, 'alert')}; rules: {rules_loaded:,} loaded, "
            f"{rules_failed:,} failed")
    if rules_unsupported:
        line += f", {rules_unsupported:,} unsupported"
    if stored_in and alerts:
        line += f"; stored in {stored_in}"
    return line


def capture_line(stats: "LiveStats", failures: list[str] | None = None) -> tuple[str, bool]:
    """`capture: 1,000 packets seen by the kernel, 0 dropped (0.00%) ...`, and whether
    anything was lost: a sensor that missed packets must say so, every time."""
    drops = stats.kernel_drops
    line = (f"capture: {_plural(stats.kernel_packets, 'packet')} seen by the kernel, "
            f"{drops:,} dropped ({stats.drop_percent:.2f}%), {stats.decoded:,} inspected "
            f"by {_plural(len(stats.workers), 'worker')}")
    if stats.worst_packet_us is not None:       # None: the engine (Suricata) does not time it
        line += f"; slowest packet {stats.worst_packet_us / 1000:.1f} ms"
    if stats.discarded:
        line += f"; {stats.discarded:,} loopback echoes not inspected"
    for failure in failures or []:
        line += f"; {failure}"
    return line, bool(drops or failures)


def print_line(console: Console, line: str, style: str | None = None) -> None:
    """One line, never wrapped or marked up (paths may contain brackets)."""
    console.print(line, style=style, soft_wrap=True, markup=False, highlight=False)


__all__ = ["byte_progress", "summary_line", "capture_line", "print_line", "UPDATE_EVERY",
           "ByteProgress"]
