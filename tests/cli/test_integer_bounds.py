"""Integer options are bounded, so a huge value is a usage error (exit 2) naming the range,
not an OverflowError from SQLite (issue 8.8)."""

from __future__ import annotations

from pathlib import Path

import pytest

from tests.cli.in_process import run

HUGE = "99999999999999999999999"


@pytest.mark.parametrize("option,bound", [("--limit", "1<=x<=2147483647"),
                                          ("--sid", "1<=x<=4294967295")])
def test_alerts_list_refuses_a_huge_integer(tmp_path: Path, capsys: pytest.CaptureFixture,
                                            option: str, bound: str) -> None:
    code, _, err = run(capsys, "alerts", "list", "--db", str(tmp_path / "a.db"), option, HUGE)
    assert code == 2
    assert f"{HUGE} is not in the range {bound}" in err and "Overflow" not in err


def test_alerts_list_accepts_the_largest_bounded_values(tmp_path: Path,
                                                         capsys: pytest.CaptureFixture) -> None:
    code, out, _ = run(capsys, "alerts", "list", "--db", str(tmp_path / "a.db"),
                       "--limit", "2147483647", "--sid", "4294967295", "-o", "json")
    assert (code, out.strip()) == (0, "[]")


def test_exec_timeout_is_bounded(tmp_path: Path, capsys: pytest.CaptureFixture) -> None:
    code, _, err = run(capsys, "exec", "--db", str(tmp_path / "a.db"), "--timeout", "1e400",
                       "-n", "red", "red1", "--", "true")
    assert code == 2 and "--timeout" in err
