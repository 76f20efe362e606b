"""Processes inside pods: the HTTP servers (started detached) and `exec` commands.

Each pod's server is pid 1 of the pod's own pid, mount, UTS and IPC namespaces inside its
netns, and runs unprivileged (`isolation` builds the command lines); `exec` joins the
namespaces of that server. The host's files (curl, sh) are still there, read-only to the pod.
"""

from __future__ import annotations

import os
import select
import signal
import subprocess
import sys
import time
from dataclasses import dataclass
from pathlib import Path

from dpictl import paths
from dpictl.backends.base import ExecResult
from dpictl.backends.local import isolation
from dpictl.errors import ClusterError

PODSERVER = Path(__file__).with_name("podserver.py")
# Where pods find the server they run. A pod's mount namespace hides /tmp, /var/tmp, /dev/shm
# and /run under private tmpfs, and its user (nobody) may not read the checkout (under a 0700
# home, say): a copy in a root-owned, world-readable directory is reachable from every pod,
# wherever dpictl itself was installed. The interpreter is the real one behind the venv's
# symlink, run isolated (-I -S): the server needs nothing but the standard library.
POD_RUNTIME = Path("/var/lib/dpictl")


def pod_server_command() -> list[str]:
    """The interpreter and script a pod runs (the script installed or refreshed here)."""
    target = POD_RUNTIME / PODSERVER.name
    source = PODSERVER.read_bytes()
    try:
        current = target.read_bytes()
    except OSError:
        current = None
    if current != source:
        POD_RUNTIME.mkdir(mode=0o755, parents=True, exist_ok=True)
        info = POD_RUNTIME.stat()
        if info.st_uid != os.geteuid() or info.st_mode & 0o022:
            raise ClusterError(f"{POD_RUNTIME} is writable by others or not ours: pods will "
                               "not run what it holds", hint=f"chmod 755 {POD_RUNTIME}")
        tmp = target.with_name(f".{target.name}.{os.getpid()}")
        tmp.write_bytes(source)
        os.chmod(tmp, 0o644)
        os.replace(tmp, target)
    return [os.path.realpath(sys.executable), "-I", "-S", str(target)]


@dataclass(frozen=True, slots=True)
class StartedServer:
    pid: int              # the launcher (`unshare`); the server is its only child
    ready_fd: int
    log: Path


@dataclass(frozen=True, slots=True)
class PodProcess:
    """Who a pod's processes are: its hostname, whether it runs as root, what it must not see."""

    hostname: str
    root: bool = False
    masked: tuple[Path, ...] = ()


def start_pod_server(pod_ns: str, log: Path, pod: PodProcess, port: int = 80) -> StartedServer:
    """Spawn the pod's HTTP server in its own session; call `wait_ready` next."""
    paths.private_dir(log.parent, top=paths.state_dir())
    log_fd = paths.open_log(log)
    read_fd, write_fd = os.pipe()
    os.set_inheritable(write_fd, True)
    null_fd = os.open(os.devnull, os.O_RDONLY)
    server = [*pod_server_command(), "--port", str(port), "--ready-fd", str(write_fd),
              "--netns", pod_ns]
    argv = isolation.pod_init_argv(pod_ns, pod.hostname, _maskable(pod.masked), server, pod.root)
    env = isolation.pod_environment(pod.hostname, pod.root)
    try:
        pid = os.posix_spawnp(argv[0], argv, env, setsid=True, file_actions=[
            (os.POSIX_SPAWN_DUP2, null_fd, 0), (os.POSIX_SPAWN_DUP2, log_fd, 1),
            (os.POSIX_SPAWN_DUP2, log_fd, 2)])
    except OSError as exc:
        os.close(read_fd)
        raise ClusterError(f"cannot start the HTTP server of {pod_ns}: {exc}") from exc
    finally:
        os.close(write_fd)
        os.close(log_fd)
        os.close(null_fd)
    return StartedServer(pid, read_fd, log)


def _maskable(masked: tuple[Path, ...]) -> list[Path]:
    """The directories to hide, but never one holding the server or Python themselves (a
    state file kept in the project directory must not stop its pods from starting)."""
    needed = [POD_RUNTIME.resolve(), Path(sys.executable).resolve()]
    return [m for m in dict.fromkeys(Path(d).resolve() for d in masked)
            if not any(m == n or m in n.parents for n in needed)]


def wait_ready(server: StartedServer, deadline: float) -> int:
    """Block until the server said it listens, then return its pid (as the host sees it);
    ClusterError (with its log) if it died."""
    try:
        while True:
            left = deadline - time.monotonic()
            if left <= 0:
                stop_pid(server.pid)
                raise ClusterError(f"pod HTTP server (pid {server.pid}) did not start in time",
                                   hint=f"see {server.log}")
            ready, _, _ = select.select([server.ready_fd], [], [], left)
            if ready:
                data = os.read(server.ready_fd, 64)
                if data.startswith(b"ready"):
                    return _only_child(server.pid)
                _reap(server.pid)
                tail = _tail(server.log)
                raise ClusterError(f"pod HTTP server (pid {server.pid}) exited: {tail}",
                                   hint=f"see {server.log}")
    finally:
        os.close(server.ready_fd)


def _only_child(pid: int) -> int:
    """The pod's pid 1 as the host sees it: `unshare --fork` has exactly one child."""
    try:
        children = Path(f"/proc/{pid}/task/{pid}/children").read_text().split()
    except OSError:
        children = []
    if len(children) != 1:
        stop_pid(pid)
        raise ClusterError(f"pod launcher (pid {pid}) has {len(children)} children, not 1")
    return int(children[0])


def _tail(path: Path) -> str:
    try:
        lines = path.read_text(errors="replace").strip().splitlines()
    except OSError:
        return "no log"
    return lines[-1] if lines else "no output"


def _reap(pid: int) -> None:
    try:
        os.waitpid(pid, os.WNOHANG)
    except ChildProcessError:
        pass


def is_pod_server(pid: int | None) -> bool:
    """True when `pid` is alive and is one of our pod servers."""
    if not pid:
        return False
    try:
        cmdline = Path(f"/proc/{pid}/cmdline").read_bytes()
        state = Path(f"/proc/{pid}/stat").read_text().rsplit(")", 1)[1].split()[0]
    except OSError:
        return False
    return state != "Z" and PODSERVER.name.encode() in cmdline


def pod_servers_labelled(prefix: str) -> list[int]:
    """Pids of live pod servers whose `--netns` label starts with `prefix`.

    A server spawned while its creator is interrupted (Ctrl-C between spawn and the state
    write) is in no state row, and once its netns is deleted no netns scan finds it either;
    its command line still says which cluster it belongs to."""
    found = []
    for entry in Path("/proc").iterdir():
        if not entry.name.isdigit():
            continue
        try:
            argv = (entry / "cmdline").read_bytes().split(b"\0")
        except OSError:
            continue
        if not any(a.endswith(PODSERVER.name.encode()) for a in argv):
            continue
        labels = [argv[i + 1] for i, a in enumerate(argv[:-1]) if a == b"--netns"]
        if argv[0] == b"unshare":
            continue                  # the launcher: it dies with the server it launched
        if labels and labels[0].startswith(prefix.encode()) and _alive(int(entry.name)):
            found.append(int(entry.name))
    return sorted(found)


def stop_pid(pid: int, grace: float = 2.0) -> bool:
    """SIGTERM, then SIGKILL after `grace` seconds; True when a process was signalled.

    A pod launcher (`unshare --fork`) ignores SIGTERM by design, so it gets SIGKILL at once:
    `--kill-child` then kills the pod's pid 1, and with it every process of the pod."""
    try:
        os.kill(pid, signal.SIGKILL if _is_launcher(pid) else signal.SIGTERM)
    except ProcessLookupError:
        return False
    deadline = time.monotonic() + grace
    while time.monotonic() < deadline:
        _reap(pid)
        if not Path(f"/proc/{pid}").exists() or not _alive(pid):
            return True
        time.sleep(0.02)
    try:
        os.kill(pid, signal.SIGKILL)
    except ProcessLookupError:
        pass
    _reap(pid)
    return True


def _is_launcher(pid: int) -> bool:
    try:
        argv = Path(f"/proc/{pid}/cmdline").read_bytes().split(b"\0")
    except OSError:
        return False
    return argv[0] == b"unshare" and any(a.endswith(PODSERVER.name.encode()) for a in argv)


def _alive(pid: int) -> bool:
    try:
        state = Path(f"/proc/{pid}/stat").read_text().rsplit(")", 1)[1].split()[0]
    except OSError:
        return False
    return state != "Z"


def exec_in_pod(server_pid: int, pod: PodProcess, argv: list[str], stdin: bytes | None,
                timeout: float) -> ExecResult:
    """Run argv in the namespaces of the pod whose server is `server_pid`, with the pod's
    user and environment, and capture everything; exit 124 on timeout."""
    cmd = isolation.pod_exec_argv(server_pid, argv, pod.root)
    # nsenter forks to enter the pid namespace, so killing it alone would leave the command
    # running in the pod: the command gets its own process group, and the group is killed.
    proc = subprocess.Popen(cmd, stdin=subprocess.PIPE, stdout=subprocess.PIPE,
                            stderr=subprocess.PIPE, start_new_session=True,
                            env=isolation.pod_environment(pod.hostname, pod.root))
    try:
        out, err = proc.communicate(stdin if stdin is not None else b"", timeout=timeout)
    except subprocess.TimeoutExpired:
        _kill_group(proc)
        out, err = proc.communicate()
        err += f"dpictl: command timed out after {timeout:g}s\n".encode()
        return ExecResult(out, err, 124)
    except BaseException:
        _kill_group(proc)
        proc.wait()
        raise
    return ExecResult(out, err, proc.returncode)


def _kill_group(proc: subprocess.Popen) -> None:
    try:
        os.killpg(proc.pid, signal.SIGKILL)
    except ProcessLookupError:
        pass


__all__ = ["StartedServer", "PodProcess", "start_pod_server", "wait_ready", "is_pod_server",
           "stop_pid", "exec_in_pod", "PODSERVER"]
