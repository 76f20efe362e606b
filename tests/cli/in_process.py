"""Run `dpictl` in this process, through the same `main()` the console script calls, so a test
sees the exit code and the one-line errors exactly as a user would (and fakes installed with
monkeypatch still apply)."""

from __future__ import annotations

import pytest

from dpictl.cli import main


def run(capsys: pytest.CaptureFixture, *argv: str) -> tuple[int, str, str]:
    """(exit code, stdout, stderr) of `dpictl ARGV`."""
    try:
        main(list(argv))
        code = 0
    except SystemExit as exc:
        code = exc.code or 0
    out = capsys.readouterr()
    return code, out.out, out.err
