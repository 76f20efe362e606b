"""README's test command (what `.ci/run` runs): it stops the kube-apiserver and etcd it started
once the tests are over, and exits with pytest's code (5, no tests collected, still fails).

The command runs here in a copy of the repository's shape whose `scripts/setup.sh`,
`.ci/kube-apiserver.sh` and `.venv/bin/python` are stand-ins that record what was called, so
the test checks the command's control flow without building or starting anything.
"""

from __future__ import annotations

import os
import subprocess
from pathlib import Path

import pytest

ROOT = Path(__file__).resolve().parents[1]


def readme_block(marker: str) -> str:
    """The fenced block after `marker`, extracted with the same awk program as `.ci/run`."""
    program = next(line for line in (ROOT / ".ci" / "run").read_text().splitlines()
                   if marker in line and "awk" in line)
    awk = program.split("awk '", 1)[1].rsplit("' README.md", 1)[0]
    out = subprocess.run(["awk", awk, str(ROOT / "README.md")], capture_output=True,
                         text=True, check=True).stdout
    assert out.strip(), f"no block after {marker}"
    return out


def _stub(path: Path, body: str) -> None:
    path.parent.mkdir(parents=True, exist_ok=True)
    path.write_text("#!/bin/bash\n" + body + "\n")
    path.chmod(0o755)


@pytest.mark.parametrize("pytest_rc", [0, 1, 5])
def test_test_command_stops_the_apiserver_and_keeps_pytests_exit_code(tmp_path, pytest_rc):
    calls = tmp_path / "calls"
    _stub(tmp_path / "scripts" / "setup.sh", f'echo "setup $*" >> {calls}')
    _stub(tmp_path / ".ci" / "kube-apiserver.sh",
          f'echo "apiserver ${{1:-start}}" >> {calls}; '
          f'[ "${{1:-start}}" = start ] && echo {tmp_path}/kubeconfig; true')
    _stub(tmp_path / ".venv" / "bin" / "python",
          f'echo "pytest kubeconfig=$DPICTL_TEST_KUBECONFIG" >> {calls}; exit {pytest_rc}')
    proc = subprocess.run(["bash", "-euo", "pipefail", "-c", readme_block("test-command")],
                          cwd=tmp_path, capture_output=True, text=True, timeout=60,
                          env={"PATH": os.environ["PATH"]})
    assert proc.returncode == pytest_rc, proc.stderr
    assert calls.read_text().splitlines() == [
        "setup --test", "apiserver start", f"pytest kubeconfig={tmp_path}/kubeconfig",
        "apiserver stop"]


def _alive(pid: int) -> bool:
    try:
        state = Path(f"/proc/{pid}/stat").read_text().rsplit(")", 1)[1].split()[0]
    except (OSError, IndexError):
        return False
    return state != "Z"


def test_kube_apiserver_stop_ends_what_start_recorded(tmp_path):
    """`stop` ends the processes of the pid files and returns once they are gone."""
    pids = {}
    for name in ("apiserver", "etcd"):     # not our children, like the real ones
        out = subprocess.run(["bash", "-c", "setsid sleep 300 >/dev/null 2>&1 & echo $!"],
                             capture_output=True, text=True, check=True).stdout
        pids[name] = int(out)
        (tmp_path / f"{name}.pid").write_text(f"{pids[name]}\n")
    try:
        assert all(_alive(pid) for pid in pids.values())
        done = subprocess.run(["bash", str(ROOT / ".ci" / "kube-apiserver.sh"), "stop"],
                              env={**os.environ, "DPICTL_KUBE_DIR": str(tmp_path)},
                              capture_output=True, text=True, timeout=60)
        assert done.returncode == 0, done.stderr
        assert [name for name, pid in pids.items() if _alive(pid)] == []
        assert not list(tmp_path.glob("*.pid"))
    finally:
        for pid in pids.values():
            if _alive(pid):
                os.kill(pid, 9)


def test_kube_apiserver_stop_without_a_running_server_is_quiet(tmp_path):
    done = subprocess.run(["bash", str(ROOT / ".ci" / "kube-apiserver.sh"), "stop"],
                          env={**os.environ, "DPICTL_KUBE_DIR": str(tmp_path)},
                          capture_output=True, text=True, timeout=60)
    assert done.returncode == 0 and done.stderr == ""
