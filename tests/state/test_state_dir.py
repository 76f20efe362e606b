"""The state directory and file (issue 8.8 damaged db, 8.9): created 0700, refused when others
can write to it, logs never follow symlinks, read-only commands work on a read-only file, and
a damaged file is one line with a hint."""

from __future__ import annotations

import json
import os
import shutil
import subprocess
import sys
from pathlib import Path

import pytest

from dpictl import paths
from dpictl.alerts.store import AlertStore
from dpictl.errors import ExitCode, InputError, PermissionDenied
from tests.cli.in_process import run

from alerts.factories import make_alert

ROOT = Path(__file__).resolve().parents[2]


def test_a_new_state_dir_is_0700_whatever_the_umask(tmp_path: Path) -> None:
    old = os.umask(0o022)
    try:
        AlertStore(tmp_path / "new" / "state" / "x.db").close()
    finally:
        os.umask(old)
    assert (tmp_path / "new" / "state").stat().st_mode & 0o777 == 0o700


@pytest.mark.parametrize("mode", [0o770, 0o707, 0o777, 0o1777])
def test_a_state_dir_others_can_write_is_refused(tmp_path: Path, mode: int,
                                                  capsys: pytest.CaptureFixture) -> None:
    state = tmp_path / "state"
    state.mkdir()
    state.chmod(mode)
    code, _, err = run(capsys, "alerts", "list", "--db", str(state / "x.db"))
    assert code == ExitCode.NOT_PERMITTED
    assert err.strip() == (f"dpictl: error: state directory {state} is group- or world-writable "
                           f"(mode {mode:04o}) (chmod go-w {state}, or use another --db)")
    assert not (state / "x.db").exists()


def test_a_state_dir_owned_by_someone_else_is_refused(tmp_path: Path) -> None:
    if os.geteuid() != 0:
        pytest.skip("needs root to give a directory away")
    state = tmp_path / "state"
    state.mkdir(mode=0o700)
    os.chown(state, 65534, 65534)
    with pytest.raises(PermissionDenied, match="owned by uid 65534, not by this user"):
        AlertStore(state / "x.db")


def test_a_planted_log_symlink_is_refused_not_followed(tmp_path: Path) -> None:
    victim = tmp_path / "victim"
    victim.write_text("precious\n")
    log = tmp_path / "pod.log"
    log.symlink_to(victim)
    with pytest.raises(PermissionDenied, match="it is a symlink"):
        paths.open_log(log)
    assert victim.read_text() == "precious\n"


def test_the_pod_server_log_is_opened_without_following_links(tmp_path: Path,
                                                               monkeypatch) -> None:
    from dpictl.backends.local import processes

    monkeypatch.setenv("XDG_STATE_HOME", str(tmp_path))
    run_dir = paths.private_dir(paths.run_dir() / "c1", top=paths.state_dir())
    victim = tmp_path / "victim"
    victim.write_text("precious\n")
    (run_dir / "pod.log").symlink_to(victim)
    with pytest.raises(PermissionDenied, match="symlink"):
        processes.start_pod_server("nonexistent-netns", run_dir / "pod.log",
                                   processes.PodProcess("x"))
    assert victim.read_text() == "precious\n"


def test_the_agent_log_is_opened_without_following_links(tmp_path: Path) -> None:
    from dpictl.agent import daemon

    victim = tmp_path / "victim"
    victim.write_text("precious\n")
    log = tmp_path / "agent.log"
    log.symlink_to(victim)
    pid = os.fork()
    if pid == 0:
        daemon._exec_daemon([sys.executable, "-c", "print('appended')"], log)
    _, status = os.waitpid(pid, 0)
    assert os.waitstatus_to_exitcode(status) == 127      # refused: the exec never happened
    assert victim.read_text() == "precious\n"


def _damaged_db(tmp_path: Path) -> Path:
    db = tmp_path / "state" / "x.db"
    with AlertStore(db) as store:
        store.add([make_alert(sid=n, signature="x" * 2000) for n in range(1, 200)])
    data = bytearray(db.read_bytes())
    page = int.from_bytes(data[16:18], "big")
    for offset in range(2 * page, len(data), page):       # every page but the schema page
        data[offset:offset + 64] = b"\xff" * 64
    db.write_bytes(bytes(data))
    return db


def test_a_damaged_db_is_one_line_with_a_hint(tmp_path: Path,
                                             capsys: pytest.CaptureFixture) -> None:
    db = _damaged_db(tmp_path)
    code, _, err = run(capsys, "alerts", "list", "--db", str(db))
    assert code == ExitCode.BAD_INPUT
    line, = err.strip().splitlines()
    assert line.startswith(f"dpictl: error: the state file {db} is damaged: ")
    assert line.endswith(f"(move it aside (a new one is started), or salvage it with: "
                         f"sqlite3 {db} .recover)")


def test_junk_in_place_of_the_db_is_damaged_too(tmp_path: Path) -> None:
    (tmp_path / "s").mkdir(mode=0o700)
    (tmp_path / "s" / "x.db").write_bytes(b"junk" * 1000)
    with pytest.raises(InputError, match="is damaged: file is not a database"):
        AlertStore(tmp_path / "s" / "x.db")


def _on_read_only_mount(directory: Path, *argv: str) -> subprocess.CompletedProcess:
    """Run dpictl with `directory` bind-mounted read-only in a private mount namespace (root
    ignores permission bits, so only a read-only mount makes a directory read-only to it)."""
    script = (f"mount --bind -o ro {directory} {directory} && exec {sys.executable} -m dpictl "
              + " ".join(argv))
    env = {**os.environ, "PYTHONPATH": str(ROOT), "DPICTL_AGENT_AUTOSTART": "0"}
    return subprocess.run(["unshare", "--mount", "--propagation", "private", "sh", "-c", script],
                          env=env, capture_output=True, text=True, timeout=60)


@pytest.mark.root
def test_read_only_commands_work_on_a_read_only_db_directory(tmp_path: Path) -> None:
    if os.geteuid() != 0 or not shutil.which("unshare"):
        pytest.skip("needs root and unshare for a read-only mount")
    state = tmp_path / "state"
    db = state / "x.db"
    with AlertStore(db) as store:
        store.add([make_alert(sid=4242)])
    from dpictl.backends.local.backend import LocalBackend
    cluster = LocalBackend(db, cluster_id="hardbro")
    cluster.apply({"apiVersion": "v1", "kind": "Namespace", "metadata": {"name": "red"}})
    cluster.close()
    assert not db.with_name("x.db-wal").exists()          # closed cleanly: no -wal, no -shm

    listed = _on_read_only_mount(state, "alerts", "list", "--db", str(db), "-o", "eve")
    assert listed.returncode == 0, listed.stderr
    assert [json.loads(line)["alert"]["signature_id"] for line in listed.stdout.splitlines()] \
        == [4242]
    got = _on_read_only_mount(state, "get", "ns", "--db", str(db), "-o", "name")
    assert (got.returncode, got.stdout) == (0, "namespace/red\n"), got.stderr
    status = _on_read_only_mount(state, "lab", "status", "--db", str(db))
    assert status.returncode == 0 and "Namespaces: red" in status.stdout, status.stderr
    cleared = _on_read_only_mount(state, "alerts", "clear", "--db", str(db))
    assert cleared.returncode == ExitCode.NOT_PERMITTED
    assert cleared.stderr.strip().startswith(f"dpictl: error: the state file {db} is read-only")
    assert "Traceback" not in listed.stderr + got.stderr + status.stderr + cleared.stderr
