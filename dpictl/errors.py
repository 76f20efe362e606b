"""The error tree: every failure a user can cause maps to one class, one exit code and a hint.

Library code raises these; only `dpictl.cli.main` turns them into a one-line message and an
exit code, so no command needs its own try/except and no user ever sees a traceback for bad input.
"""

from __future__ import annotations

from enum import IntEnum


class ExitCode(IntEnum):
    """Process exit codes, stable so that scripts and CI can branch on them."""

    OK = 0
    ERROR = 1
    USAGE = 2
    BAD_INPUT = 3
    NOT_PERMITTED = 4
    NOT_FOUND = 5
    CLUSTER = 6
    EXPECTATION_FAILED = 7
    INTERRUPTED = 130


class DpictlError(Exception):
    """Base of every error dpictl reports to a user.

    `hint` says what to do about it; it is printed after the message.
    """

    exit_code: ExitCode = ExitCode.ERROR
    hint: str = ""

    def __init__(self, message: str, hint: str | None = None) -> None:
        super().__init__(message)
        if hint is not None:
            self.hint = hint

    @property
    def message(self) -> str:
        return str(self.args[0]) if self.args else self.__class__.__name__


class UsageError(DpictlError):
    """The command line itself is wrong (a bad option value, a missing argument)."""

    exit_code = ExitCode.USAGE


class InputError(DpictlError):
    """A file the user gave cannot be used: missing, unreadable, truncated, malformed."""

    exit_code = ExitCode.BAD_INPUT


class RuleSyntaxError(InputError):
    """One rule could not be parsed; carries where it is so the rest can still load."""

    def __init__(self, message: str, file: str | None = None, line: int | None = None,
                 sid: int | None = None) -> None:
        super().__init__(message)
        self.file = file
        self.line = line
        self.sid = sid

    def __str__(self) -> str:
        where = f"{self.file}:{self.line}: " if self.file and self.line else ""
        return f"{where}{self.message}"


class PcapError(InputError):
    """A capture file is missing, empty, truncated or not a pcap/pcapng file."""


class SelectorSyntaxError(InputError):
    """A Calico selector does not parse."""


class ManifestError(InputError):
    """A YAML/JSON manifest is not a resource dpictl understands."""


class PermissionDenied(DpictlError):
    """The operation needs privileges the process does not have (root, CAP_NET_RAW, RBAC)."""

    exit_code = ExitCode.NOT_PERMITTED


class NotFound(DpictlError):
    """A named thing (interface, namespace, pod, resource, CRD) does not exist."""

    exit_code = ExitCode.NOT_FOUND


class CaptureError(DpictlError):
    """Live capture could not start or failed (missing interface, socket error)."""


class ClusterError(DpictlError):
    """The cluster cannot be reached or refused a request (no kubeconfig, unreachable, 401)."""

    exit_code = ExitCode.CLUSTER


class RulesUpdateError(DpictlError):
    """A rules update could not complete (fetch, archive, policy or compile); the ruleset in
    use before it is left in place."""


class ExpectationFailed(DpictlError):
    """A lab scenario ran but what it expected did not happen."""

    exit_code = ExitCode.EXPECTATION_FAILED


__all__ = [
    "ExitCode", "DpictlError", "UsageError", "InputError", "RuleSyntaxError", "PcapError",
    "SelectorSyntaxError", "ManifestError", "PermissionDenied", "NotFound", "CaptureError",
    "ClusterError", "RulesUpdateError", "ExpectationFailed",
]
