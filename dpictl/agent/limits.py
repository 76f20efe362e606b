"""CPU and memory limits for the agent, from IntrusionDetection componentResources.

Kubernetes enforces a DPI pod's limits with cgroups; the local agent does the same where it
can, and says plainly what it did where it cannot:

1. cgroup v2, when the process's v2 cgroup offers the `cpu`/`memory` controllers
   (`cpu.max`, `memory.max` on a child cgroup `dpictl-agent-<id>`);
2. cgroup v1, when the `cpu`/`memory` hierarchies are mounted (`cpu.cfs_quota_us` over
   `cpu.cfs_period_us`, `memory.limit_in_bytes`) - a hybrid machine with an empty
   `unified` cgroup2 mount lands here, which is why controllers are checked, not mounts;
3. otherwise memory falls back to RLIMIT_DATA (heap and private mappings, close to what
   the kernel would charge) and CPU to `nice 10`. RLIMIT_CPU is NOT used: it caps total CPU
   seconds and then kills the process, which is not a rate limit.

`applied` records which mechanism took effect per resource, for the agent status and
`dpictl lab status`.
"""

from __future__ import annotations

import os
import resource
from collections.abc import Callable
from dataclasses import dataclass, field
from pathlib import Path

CGROUP_PREFIX = "dpictl-agent-"
NICE_FALLBACK = 10


@dataclass(slots=True)
class AppliedLimits:
    """What limits the agent runs under, in words a user can check."""

    cpu: str = "unlimited"
    memory: str = "unlimited"
    cgroups: list[str] = field(default_factory=list)   # directories created (for cleanup)

    def to_dict(self) -> dict:
        return {"cpu": self.cpu, "memory": self.memory, "cgroups": list(self.cgroups)}


class CgroupLayout:
    """Where this machine's cgroup controllers are, read from /proc (root-relative for tests)."""

    def __init__(self, pid: int | str = "self", root: Path = Path("/")) -> None:
        self.root = root
        self._mounts = _mounts(root / "proc" / str(pid) / "mountinfo")
        self._paths = _proc_cgroups(root / "proc" / str(pid) / "cgroup")

    def v2_dir(self, controller: str) -> Path | None:
        """The process's cgroup v2 directory if `controller` is enabled there."""
        path = self._paths.get("")
        for mount_root, mountpoint, fstype, _opts in self._mounts:
            if fstype != "cgroup2" or path is None:
                continue
            directory = _join(self.root, mountpoint, mount_root, path)
            if controller in _read(directory / "cgroup.controllers").split():
                return directory
        return None

    def v1_dir(self, controller: str) -> Path | None:
        """The process's cgroup v1 directory in the hierarchy holding `controller`."""
        for mount_root, mountpoint, fstype, opts in self._mounts:
            if fstype != "cgroup" or controller not in opts:
                continue
            path = next((p for names, p in self._paths.items() if controller in names.split(",")),
                        None)
            if path is not None:
                return _join(self.root, mountpoint, mount_root, path)
        return None


class AgentLimits:
    """Applies (and re-applies, when IntrusionDetection changes) limits to one process."""

    def __init__(self, pid: int, cgroup_name: str, layout: CgroupLayout | None = None) -> None:
        self.pid = pid
        self.name = cgroup_name if cgroup_name.startswith(CGROUP_PREFIX) \
            else CGROUP_PREFIX + cgroup_name
        self.layout = layout or CgroupLayout(pid)
        self.applied = AppliedLimits()
        self._niced = False
        self._entered: set[str] = set()     # controllers whose cgroup the process joined

    def apply(self, cpu_millicores: int | None, memory_bytes: int | None) -> AppliedLimits:
        self.applied.cpu = self._apply_cpu(cpu_millicores)
        self.applied.memory = self._apply_memory(memory_bytes)
        return self.applied

    def _apply_cpu(self, millicores: int | None) -> str:
        if millicores is None and "cpu" not in self._entered:
            return "unlimited"                 # nothing to set, nothing to create

        def v2(parent: Path) -> str:
            quota = "max" if millicores is None else str(millicores * 100)
            self._enter_v2(parent, "cpu", "cpu.max", f"{quota} 100000")
            return _say("cgroup v2 cpu.max", millicores, _cores)

        def v1(parent: Path) -> str:
            period = int(_read(parent / "cpu.cfs_period_us") or 100000)
            quota = -1 if millicores is None else max(1000, millicores * period // 1000)
            self._enter_v1(parent, "cpu.cfs_quota_us", str(quota))
            return _say(f"cgroup v1 cpu.cfs_quota_us={quota}/{period}", millicores, _cores)

        done, failed = self._through_cgroups("cpu", v2, v1)
        if done is not None:
            return failed + done
        if millicores is None:
            return failed + "unlimited"
        if not self._niced and self.pid == os.getpid():
            os.nice(NICE_FALLBACK)
            self._niced = True
        return (failed + f"not enforced: no cgroup cpu controller, running at nice "
                f"{NICE_FALLBACK} instead of {_cores(millicores)}")

    def _apply_memory(self, limit: int | None) -> str:
        if limit is None and "memory" not in self._entered:
            return "unlimited"

        def v2(parent: Path) -> str:
            self._enter_v2(parent, "memory", "memory.max", "max" if limit is None else str(limit))
            return _say("cgroup v2 memory.max", limit, _bytes)

        def v1(parent: Path) -> str:
            self._enter_v1(parent, "memory.limit_in_bytes", "-1" if limit is None else str(limit))
            return _say("cgroup v1 memory.limit_in_bytes", limit, _bytes)

        done, failed = self._through_cgroups("memory", v2, v1)
        if done is not None:
            return failed + done
        if self.pid != os.getpid():
            return failed + "not enforced: no cgroup memory controller"
        value = resource.RLIM_INFINITY if limit is None else limit
        resource.setrlimit(resource.RLIMIT_DATA, (value, value))
        return failed + _say("rlimit RLIMIT_DATA", limit, _bytes)

    def _through_cgroups(self, controller: str, v2: Callable[[Path], str],
                         v1: Callable[[Path], str]) -> tuple[str | None, str]:
        """Set one limit through cgroup v2, else v1, as the module docstring orders them.

        Returns (what took effect, or None when neither could; the failures on the way, as
        the prefix of whatever is said next), so a fallback still tells why it was needed.
        """
        failed = ""
        for version, find, write in (("v2", self.layout.v2_dir, v2),
                                     ("v1", self.layout.v1_dir, v1)):
            parent = find(controller)
            if parent is None:
                continue
            try:
                return write(parent), failed
            except OSError as exc:
                failed += f"cgroup {version} failed ({exc.strerror}); "
        return None, failed

    def _enter_v1(self, parent: Path, knob: str, value: str) -> None:
        self._entered.add(knob.split(".", 1)[0])
        self._join_child(parent, knob, value)

    def _enter_v2(self, parent: Path, controller: str, knob: str, value: str) -> None:
        # cgroup v2 lets only leaf cgroups hold processes: enabling a controller for children
        # fails when the parent still has processes, and then v1/rlimits are tried.
        self._entered.add(controller)
        subtree = parent / "cgroup.subtree_control"
        if controller not in _read(subtree).split():
            subtree.write_text(f"+{controller}")
        self._join_child(parent, knob, value)

    def _join_child(self, parent: Path, knob: str, value: str) -> None:
        """Create our child cgroup under `parent`, set `knob` and move the process into it."""
        child = parent / self.name
        child.mkdir(exist_ok=True)
        self._remember(child)
        (child / knob).write_text(value)
        (child / "cgroup.procs").write_text(str(self.pid))

    def _remember(self, path: Path) -> None:
        if str(path) not in self.applied.cgroups:
            self.applied.cgroups.append(str(path))

    def release(self) -> None:
        """Leave the cgroups (moving to the parent) and remove them; best effort."""
        remove_cgroups(self.applied.cgroups, self.pid)


def remove_cgroups(paths: list[str], pid: int | None = None) -> list[str]:
    """Remove dpictl agent cgroups (after moving `pid` out); returns the ones removed."""
    removed = []
    for raw in paths:
        path = Path(raw)
        if not path.name.startswith(CGROUP_PREFIX):
            continue              # never remove a cgroup that is not ours
        try:
            if pid is not None and str(pid) in _read(path / "cgroup.procs").split():
                (path.parent / "cgroup.procs").write_text(str(pid))
            path.rmdir()
            removed.append(raw)
        except OSError:
            continue
    return removed


def find_cgroups(name: str, layout: CgroupLayout | None = None) -> list[str]:
    """Existing agent cgroups called `name` beside this process's own (for clean-up after a
    crash, when the agent could not say which it made)."""
    layout = layout or CgroupLayout()
    wanted = name if name.startswith(CGROUP_PREFIX) else CGROUP_PREFIX + name
    found = []
    for parent in (layout.v2_dir("cpu"), layout.v2_dir("memory"), layout.v1_dir("cpu"),
                   layout.v1_dir("memory")):
        if parent is not None and (parent / wanted).is_dir() and \
                str(parent / wanted) not in found:
            found.append(str(parent / wanted))
    return found


def _say(mechanism: str, value: int | None, fmt) -> str:
    return f"{mechanism} ({fmt(value)})" if value is not None else f"{mechanism} (unlimited)"


def _cores(millicores: int) -> str:
    return f"{millicores / 1000:g} CPU"


def _bytes(n: int) -> str:
    for unit, size in (("Gi", 2**30), ("Mi", 2**20), ("Ki", 2**10)):
        if n >= size and n % size == 0:
            return f"{n // size}{unit}"
    return f"{n} bytes"


def _mounts(path: Path) -> list[tuple[str, str, str, set[str]]]:
    out = []
    for line in _read(path).splitlines():
        left, _, right = line.partition(" - ")
        fields, rfields = left.split(), right.split()
        if len(fields) < 5 or len(rfields) < 3:
            continue
        opts = set(rfields[2].split(",")) | set(fields[5].split(",") if len(fields) > 5 else [])
        out.append((fields[3], fields[4], rfields[0], opts))
    return out


def _proc_cgroups(path: Path) -> dict[str, str]:
    """/proc/PID/cgroup as {controllers: path}; the v2 entry has the key ""."""
    out = {}
    for line in _read(path).splitlines():
        parts = line.split(":", 2)
        if len(parts) == 3:
            out[parts[1]] = parts[2]
    return out


def _join(root: Path, mountpoint: str, mount_root: str, path: str) -> Path:
    rel = os.path.relpath(path, mount_root) if path.startswith(mount_root) else path
    rel = "" if rel == "." else rel.lstrip("/")
    return root / mountpoint.lstrip("/") / rel


def _read(path: Path) -> str:
    try:
        return path.read_text().strip()
    except OSError:
        return ""


__all__ = ["AgentLimits", "AppliedLimits", "CgroupLayout", "remove_cgroups", "find_cgroups",
           "CGROUP_PREFIX"]
