"""Resource limits: which mechanism a machine offers is read from /proc, not guessed from
mounts (a hybrid machine has an empty cgroup2 `unified` mount); values land in the right
files; with no cgroup, CPU is reported as not enforced. Fake /proc + /sys trees as root."""

from __future__ import annotations

import os
from pathlib import Path

import pytest

from dpictl.agent.limits import AgentLimits, CgroupLayout, remove_cgroups

HYBRID_MOUNTS = """\
32 31 0:29 / /sys/fs/cgroup/cpu rw,relatime - cgroup cgroup rw,cpu
35 31 0:32 / /sys/fs/cgroup/memory rw,relatime - cgroup cgroup rw,memory
41 31 0:38 / /sys/fs/cgroup/unified rw,relatime - cgroup2 cgroup2 rw
"""
HYBRID_CGROUP = "4:memory:/job/abc\n1:cpu:/\n0::/\n"
V2_MOUNTS = "30 25 0:26 / /sys/fs/cgroup rw - cgroup2 cgroup2 rw,nsdelegate\n"
V2_CGROUP = "0::/user.slice/app\n"


def fake_root(tmp_path: Path, mounts: str, cgroup: str, pid: int = 4242) -> Path:
    proc = tmp_path / "proc" / str(pid)
    proc.mkdir(parents=True)
    (proc / "mountinfo").write_text(mounts)
    (proc / "cgroup").write_text(cgroup)
    return tmp_path


def test_hybrid_machine_uses_cgroup_v1_not_the_empty_unified_mount(tmp_path):
    root = fake_root(tmp_path, HYBRID_MOUNTS, HYBRID_CGROUP)
    (root / "sys/fs/cgroup/unified").mkdir(parents=True)
    (root / "sys/fs/cgroup/unified/cgroup.controllers").write_text("hugetlb\n")
    cpu = root / "sys/fs/cgroup/cpu"
    mem = root / "sys/fs/cgroup/memory/job/abc"
    cpu.mkdir(parents=True)
    mem.mkdir(parents=True)
    (cpu / "cpu.cfs_period_us").write_text("100000\n")
    layout = CgroupLayout(4242, root=root)
    assert layout.v2_dir("cpu") is None and layout.v2_dir("memory") is None
    assert layout.v1_dir("cpu") == cpu and layout.v1_dir("memory") == mem

    limits = AgentLimits(4242, "t1", layout)
    applied = limits.apply(500, 256 * 2**20)
    assert applied.cpu == "cgroup v1 cpu.cfs_quota_us=50000/100000 (0.5 CPU)"
    assert applied.memory == "cgroup v1 memory.limit_in_bytes (256Mi)"
    assert (cpu / "dpictl-agent-t1" / "cpu.cfs_quota_us").read_text() == "50000"
    assert (mem / "dpictl-agent-t1" / "memory.limit_in_bytes").read_text() == "268435456"
    assert (cpu / "dpictl-agent-t1" / "cgroup.procs").read_text() == "4242"
    # limits removed later (IntrusionDetection deleted): unlimited again
    applied = limits.apply(None, None)
    assert (cpu / "dpictl-agent-t1" / "cpu.cfs_quota_us").read_text() == "-1"
    assert "unlimited" in applied.cpu


def test_pure_cgroup_v2_with_controllers(tmp_path):
    root = fake_root(tmp_path, V2_MOUNTS, V2_CGROUP)
    app = root / "sys/fs/cgroup/user.slice/app"
    app.mkdir(parents=True)
    (app / "cgroup.controllers").write_text("cpuset cpu io memory pids\n")
    (app / "cgroup.subtree_control").write_text("")
    layout = CgroupLayout(4242, root=root)
    assert layout.v2_dir("cpu") == app
    applied = AgentLimits(4242, "t2", layout).apply(1000, 2**30)
    assert applied.cpu == "cgroup v2 cpu.max (1 CPU)"
    assert applied.memory == "cgroup v2 memory.max (1Gi)"
    assert (app / "dpictl-agent-t2" / "cpu.max").read_text() == "100000 100000"
    assert (app / "dpictl-agent-t2" / "memory.max").read_text() == "1073741824"


def test_no_cgroups_says_cpu_is_not_enforced(tmp_path):
    root = fake_root(tmp_path, "", "")
    applied = AgentLimits(4242, "t3", CgroupLayout(4242, root=root)).apply(1000, 2**30)
    assert applied.cpu.startswith("not enforced")
    assert applied.memory.startswith("not enforced")       # another pid: no rlimit possible
    assert applied.cgroups == []


def test_remove_cgroups_only_touches_ours(tmp_path):
    ours = tmp_path / "dpictl-agent-x"
    theirs = tmp_path / "other"
    ours.mkdir()
    theirs.mkdir()
    assert remove_cgroups([str(ours), str(theirs)]) == [str(ours)]
    assert not ours.exists() and theirs.exists()


@pytest.mark.root
def test_real_cgroup_on_this_machine(tmp_path):
    import subprocess

    child = subprocess.Popen(["sleep", "30"])
    try:
        limits = AgentLimits(child.pid, "daglt" + str(os.getpid()))
        applied = limits.apply(1000, 2**30)
        if not applied.cgroups:
            pytest.skip(f"no cgroup controllers here: {applied.cpu}")
        text = Path(f"/proc/{child.pid}/cgroup").read_text()
        assert "dpictl-agent-daglt" in text
        limits.release()
        assert all(not Path(p).exists() for p in applied.cgroups)
    finally:
        child.kill()
        child.wait()


def test_find_cgroups_after_a_crash(tmp_path):
    from dpictl.agent.limits import find_cgroups

    root = fake_root(tmp_path, HYBRID_MOUNTS, HYBRID_CGROUP)
    left = root / "sys/fs/cgroup/cpu/dpictl-agent-abc"
    left.mkdir(parents=True)
    (root / "sys/fs/cgroup/memory/job/abc").mkdir(parents=True)
    assert find_cgroups("abc", CgroupLayout(4242, root=root)) == [str(left)]
