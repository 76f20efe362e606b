"""One lock between forking a worker process and spawning a subprocess from another thread.

A process forked (without exec) while another thread is inside `subprocess.run` inherits
that call's pipes: the exec-error pipe and the child's stdout/stderr, CLOEXEC or not, since
the fork never execs. The parent's wait for EOF on them then lasts as long as the forked
worker lives. That is how the agent's flow-log collector, which calls `nft` from its thread,
once hung for the whole lab until the inspection workers stopped (CI). Neither
multiprocessing nor subprocess offers a hook for this, so both sides take this lock: the
agent around `Process.start()`, the collector around `subprocess.run`.
"""

from __future__ import annotations

import threading

FORK_LOCK = threading.Lock()

__all__ = ["FORK_LOCK"]
