"""Processes inside pod netns: the HTTP servers (started detached) and `exec` commands.

`nsenter --net=/run/netns/<pod>` enters only the network namespace: the command sees the
host's files (curl, sh) but the pod's interfaces, which is all a netns "pod" needs.
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
from dpictl.backends.local.kernel import netns_path
from dpictl.errors import ClusterError

PODSERVER = Path(__file__).with_name("podserver.py")
NSENTER = "nsenter"


@dataclass(frozen=True, slots=True)
class StartedServer:
    pid: int
    ready_fd: int
    log: Path


def start_pod_server(pod_ns: str, log: Path, port: int = 80) -> StartedServer:
    """Spawn the pod's HTTP server in its own session; call `wait_ready` next."""
    paths.private_dir(log.parent, top=paths.state_dir())
    log_fd = paths.open_log(log)
    read_fd, write_fd = os.pipe()
    os.set_inheritable(write_fd, True)
    null_fd = os.open(os.devnull, os.O_RDONLY)
    argv = [NSENTER, f"--net={netns_path(pod_ns)}", "--", sys.executable, "-I", "-S",
            str(PODSERVER), "--port", str(port), "--ready-fd", str(write_fd),
            "--netns", pod_ns]
    try:
        pid = os.posix_spawnp(argv[0], argv, dict(os.environ), setsid=True, file_actions=[
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


def wait_ready(server: StartedServer, deadline: float) -> None:
    """Block until the server said it listens; ClusterError (with its log) if it died."""
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
                    return
                _reap(server.pid)
                tail = _tail(server.log)
                raise ClusterError(f"pod HTTP server (pid {server.pid}) exited: {tail}",
                                   hint=f"see {server.log}")
    finally:
        os.close(server.ready_fd)


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
        if labels and labels[0].startswith(prefix.encode()) and _alive(int(entry.name)):
            found.append(int(entry.name))
    return sorted(found)


def stop_pid(pid: int, grace: float = 2.0) -> bool:
    """SIGTERM, then SIGKILL after `grace` seconds; True when a process was signalled."""
    try:
        os.kill(pid, signal.SIGTERM)
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


def _alive(pid: int) -> bool:
    try:
        state = Path(f"/proc/{pid}/stat").read_text().rsplit(")", 1)[1].split()[0]
    except OSError:
        return False
    return state != "Z"


def exec_in_netns(pod_ns: str, argv: list[str], stdin: bytes | None,
                  timeout: float) -> ExecResult:
    """Run argv inside the pod netns and capture everything; exit 124 on timeout."""
    cmd = [NSENTER, f"--net={netns_path(pod_ns)}", "--", *argv]
    try:
        done = subprocess.run(cmd, input=stdin if stdin is not None else b"",
                              capture_output=True, timeout=timeout)
    except subprocess.TimeoutExpired as exc:
        err = (exc.stderr or b"") + f"dpictl: command timed out after {timeout:g}s\n".encode()
        return ExecResult(exc.stdout or b"", err, 124)
    return ExecResult(done.stdout, done.stderr, done.returncode)


__all__ = ["StartedServer", "start_pod_server", "wait_ready", "is_pod_server", "stop_pid",
           "exec_in_netns", "PODSERVER"]
