"""A bare scenario name means a shipped scenario; a file is used only when given as a path
(issue 8.5: a planted ./scenarios/red-blue.yaml used to replace the shipped lab silently)."""

from __future__ import annotations

from pathlib import Path

import pytest

from dpictl.errors import InputError
from dpictl.lab.scenario_file import SHIPPED, load_scenario, resolve_scenario
from tests.cli.in_process import run

PLANTED = """\
name: planted
steps:
  - namespaces: [evil]
"""


@pytest.fixture()
def planted(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> Path:
    """A working directory holding scenarios/red-blue.yaml that is not the shipped one."""
    (tmp_path / "scenarios").mkdir()
    for name in ("red-blue.yaml", "red-blue", "mine.yaml"):
        (tmp_path / "scenarios" / name).write_text(PLANTED)
    (tmp_path / "red-blue").write_text(PLANTED)
    monkeypatch.chdir(tmp_path)
    return tmp_path


def test_bare_name_is_the_shipped_scenario_even_with_a_planted_folder(planted: Path) -> None:
    path = resolve_scenario("red-blue")
    assert path == SHIPPED / "red-blue.yaml"
    assert load_scenario(path).name == "red-blue"


def test_a_file_is_used_when_given_as_a_path(planted: Path) -> None:
    assert load_scenario(resolve_scenario("scenarios/red-blue.yaml")).name == "planted"
    assert load_scenario(resolve_scenario("./red-blue")).name == "planted"


def test_a_bare_name_that_is_not_shipped_is_refused_with_a_hint(planted: Path) -> None:
    with pytest.raises(InputError, match="no shipped scenario 'mine'") as err:
        resolve_scenario("mine")
    assert "./mine.yaml" in err.value.hint and "red-blue" in err.value.hint


def test_a_missing_path_is_refused(planted: Path) -> None:
    with pytest.raises(InputError, match="nope.yaml: no such scenario file"):
        resolve_scenario("nope.yaml")


def test_run_lab_reads_a_given_path_and_says_where(planted: Path,
                                                   capsys: pytest.CaptureFixture) -> None:
    (planted / "broken.yaml").write_text("name: x\nsteps: []\n")
    code, _, err = run(capsys, "run-lab", "broken.yaml")
    assert code == 3 and "broken.yaml: steps: must be a non-empty list" in err
    code, _, err = run(capsys, "run-lab", "mine")
    assert code == 3 and "no shipped scenario 'mine'" in err
