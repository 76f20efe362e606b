"""Run a function inside a named network namespace without moving the calling thread.

Sockets belong to the namespace they were created in, for life. So to capture on a pod's
interface we create the AF_PACKET socket on a short-lived thread that has joined the pod's
namespace (`setns(2)` changes the calling *thread's* namespace only), hand the socket back, and
let the thread end. The process and every other thread stay where they were.

`os.setns` only exists from Python 3.12; on 3.11 the libc call is reached through ctypes.
"""

from __future__ import annotations

import ctypes
import errno
import os
import threading
from typing import Callable, TypeVar

from dpictl.errors import CaptureError, NotFound, PermissionDenied

NETNS_DIR = "/run/netns"
CLONE_NEWNET = 0x40000000
T = TypeVar("T")


def netns_path(name: str) -> str:
    """/run/netns/NAME, as `ip netns add NAME` creates it; NotFound if it is not there."""
    if not name or "/" in name or name in (".", ".."):
        raise NotFound(f"network namespace {name!r} not found",
                       hint="list them with `ip netns list`")
    path = os.path.join(NETNS_DIR, name)
    if not os.path.exists(path):
        raise NotFound(f"network namespace {name} not found", hint="list them with `ip netns list`")
    return path


def run_in_netns(name: str | None, func: Callable[[], T]) -> T:
    """Call `func()` inside network namespace `name` (here if None) and return its result."""
    if name is None:
        return func()
    path = netns_path(name)
    outcome: dict[str, object] = {}

    def worker() -> None:
        try:
            _setns(path)
            outcome["result"] = func()
        except BaseException as exc:        # handed back to the caller's thread
            outcome["error"] = exc

    thread = threading.Thread(target=worker, name=f"dpictl-netns-{name}", daemon=True)
    thread.start()
    thread.join()
    if "error" in outcome:
        raise outcome["error"]              # type: ignore[misc]
    return outcome["result"]                # type: ignore[return-value]


def _setns(path: str) -> None:
    libc = ctypes.CDLL(None, use_errno=True)
    fd = os.open(path, os.O_RDONLY | os.O_CLOEXEC)
    try:
        if libc.setns(fd, CLONE_NEWNET) != 0:
            err = ctypes.get_errno()
            if err == errno.EPERM:
                raise PermissionDenied(f"cannot enter network namespace {path}",
                                       hint="run as root (needs CAP_SYS_ADMIN)")
            raise CaptureError(f"cannot enter network namespace {path}: {os.strerror(err)}")
    finally:
        os.close(fd)


__all__ = ["run_in_netns", "netns_path", "NETNS_DIR"]
