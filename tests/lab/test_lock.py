"""The lab lock: one holder per state database; the holder is named; a dead one is known."""

from __future__ import annotations

import subprocess
import sys
import textwrap

import pytest

from dpictl.lab.lock import CLEAN, KEPT, LabBusy, LabLock, lock_path

HOLD = textwrap.dedent("""
    import sys, time
    from dpictl.lab.lock import LabLock
    lock = LabLock(sys.argv[1], "dpictl run-lab red-blue").__enter__()
    if sys.argv[2] != "running":
        lock.mark(sys.argv[2])
    print("held", flush=True)
    time.sleep(300)
""")


def _holder(db, state="running") -> subprocess.Popen:
    proc = subprocess.Popen([sys.executable, "-c", HOLD, str(db), state],
                            stdout=subprocess.PIPE, text=True)
    assert proc.stdout.readline().strip() == "held"
    return proc


def test_a_second_holder_is_refused_with_the_first_ones_pid_and_command(tmp_path):
    db = tmp_path / "lab.db"
    holder = _holder(db)
    try:
        with pytest.raises(LabBusy) as refused:
            with LabLock(db, "dpictl lab up red-blue"):
                pass
        assert str(refused.value) == (f"the lab of {db} is in use by pid {holder.pid} "
                                      "(dpictl run-lab red-blue)")
        assert refused.value.exit_code == 6
    finally:
        holder.kill()
        holder.wait()


def test_a_holder_killed_mid_run_is_known_as_dead(tmp_path):
    db = tmp_path / "lab.db"
    holder = _holder(db)
    holder.kill()
    holder.wait()
    with LabLock(db, "dpictl run-lab red-blue") as lock:       # the kernel released it
        assert lock.previous_died and lock.previous.pid == holder.pid
        lock.leave_as = CLEAN
    with LabLock(db, "dpictl run-lab red-blue") as lock:
        assert not lock.previous_died


@pytest.mark.parametrize("state,died", [(KEPT, False), (CLEAN, False)])
def test_a_kept_or_clean_lab_is_not_a_dead_run(tmp_path, state, died):
    db = tmp_path / "lab.db"
    holder = _holder(db, state)
    holder.kill()
    holder.wait()
    with LabLock(db, "dpictl run-lab") as lock:
        assert lock.previous_died is died
        assert lock.previous_kept is (state == KEPT)


def test_the_lock_file_is_beside_the_database_and_private(tmp_path):
    db = tmp_path / "lab.db"
    with LabLock(db, "x"):
        assert lock_path(db) == tmp_path / "lab.db.lab.lock"
        assert lock_path(db).stat().st_mode & 0o777 == 0o600


def test_what_the_holder_leaves_is_recorded_on_release(tmp_path):
    db = tmp_path / "lab.db"
    with LabLock(db, "dpictl lab up") as lock:
        lock.leave_as = KEPT
    with LabLock(db, "dpictl run-lab") as lock:      # refused by the fresh check, say
        assert lock.previous_kept
    with LabLock(db, "dpictl run-lab") as lock:
        assert lock.previous_kept                     # still kept: nobody took it down
        lock.leave_as = CLEAN
    with LabLock(db, "dpictl run-lab") as lock:
        assert not lock.previous_kept and not lock.previous_died


def test_a_dead_runs_mark_survives_a_holder_that_did_not_remove_its_leftovers(tmp_path):
    db = tmp_path / "lab.db"
    holder = _holder(db)
    holder.kill()
    holder.wait()
    with pytest.raises(RuntimeError):
        with LabLock(db, "dpictl run-lab"):
            raise RuntimeError("the cluster could not be opened")
    with LabLock(db, "dpictl run-lab") as lock:
        assert lock.previous_died and lock.previous.pid == holder.pid
        lock.recovered = True
    with LabLock(db, "dpictl run-lab") as lock:
        assert not lock.previous_died
