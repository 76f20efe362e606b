"""Signals a lab run obeys the way it obeys Ctrl-C: SIGTERM and SIGHUP too.

`timeout`, systemd and CI cancellation send SIGTERM; a closed terminal sends SIGHUP. Their
default action kills the process on the spot, so the runner's `finally` (the clean-up) never
ran and the next run found the namespaces of the dead one. `signals_interrupt()` turns each
of them into `Interrupt`, a KeyboardInterrupt carrying the signal, so the clean-up runs as it
does after Ctrl-C. `signals_deferred()` is for the clean-up itself: a signal then is
remembered (see `.received`), not obeyed, so the clean-up completes and the run still ends
as interrupted, with 128 + the signal as its exit code.
"""

from __future__ import annotations

import signal
import threading
from contextlib import contextmanager
from typing import Iterator

HANDLED = (signal.SIGINT, signal.SIGTERM, signal.SIGHUP)


class Interrupt(KeyboardInterrupt):
    """A signal that interrupts a lab run (SIGINT, SIGTERM or SIGHUP)."""

    def __init__(self, signum: int) -> None:
        super().__init__(signal.Signals(signum).name)
        self.signum = signum

    @classmethod
    def named(cls, name: str) -> "Interrupt":
        """From a signal's name as `name` gives it ("SIGTERM")."""
        return cls(int(signal.Signals[name]))

    @property
    def name(self) -> str:
        return signal.Signals(self.signum).name

    @property
    def exit_code(self) -> int:
        """What a shell reports for a process ended by this signal: 130, 143, 129."""
        return 128 + self.signum


def as_interrupt(exc: BaseException) -> Interrupt:
    """The signal behind a KeyboardInterrupt (a bare one is Ctrl-C)."""
    return exc if isinstance(exc, Interrupt) else Interrupt(int(signal.SIGINT))


def _raise(signum: int, _frame: object) -> None:
    raise Interrupt(signum)


@contextmanager
def _handlers(handler) -> Iterator[None]:
    if threading.current_thread() is not threading.main_thread():
        yield                    # only the main thread may set handlers (tests call from others)
        return
    previous = {s: signal.signal(s, handler) for s in HANDLED}
    try:
        yield
    finally:
        for s, old in previous.items():
            signal.signal(s, old)


@contextmanager
def signals_interrupt() -> Iterator[None]:
    """SIGINT, SIGTERM and SIGHUP raise `Interrupt` in the main thread while inside."""
    with _handlers(_raise):
        yield


class Deferred:
    """The signals that arrived while deferred, first one first."""

    def __init__(self) -> None:
        self.received: list[int] = []

    def __call__(self, signum: int, _frame: object) -> None:
        self.received.append(signum)

    @property
    def first(self) -> Interrupt | None:
        return Interrupt(self.received[0]) if self.received else None


@contextmanager
def signals_deferred() -> Iterator[Deferred]:
    """SIGINT, SIGTERM and SIGHUP are recorded, not obeyed, while inside."""
    deferred = Deferred()
    with _handlers(deferred):
        yield deferred


__all__ = ["Interrupt", "signals_interrupt", "signals_deferred", "as_interrupt", "Deferred"]
