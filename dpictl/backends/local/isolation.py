"""How a local pod's processes are confined: namespaces, mounts, user and environment.

A netns alone left every pod process root, with every capability, in the host's pid, mount
and user namespaces and with the caller's environment: from `dpictl exec` one could list and
signal host processes, `nsenter` the host netns, write host files and wipe the alert store.
A pod is now what a container runtime would make of it, built from util-linux tools (Python
3.11 has no `os.unshare`, and these are the tools an operator would use by hand):

- `unshare --pid --fork --mount-proc --mount --uts --ipc` inside the pod netns: the pod's
  HTTP server is pid 1 of its own pid namespace (the host's processes are invisible, and
  when it dies every process of the pod dies with it), with its own /proc and hostname;
- in that mount namespace, private tmpfs on /tmp, /var/tmp, /dev/shm and /run (which also
  hides /run/netns), and an empty read-only tmpfs over the state directory and the state
  file's directory: the only places a pod can write are its own tmpfs, gone with the pod;
- `setpriv` to `nobody` with no capabilities (bounding set and inheritable set cleared, no
  new privileges), unless the Pod asks for root explicitly (`securityContext.runAsUser: 0`
  or `privileged: true`, see `dpictl.resources.models.core.Pod.root`);
- a minimal environment (PATH, HOME, LANG, TERM, HOSTNAME, USER): no secret of the caller's.

The server still serves on :80 because the pod netns sets
`net.ipv4.ip_unprivileged_port_start=0` (see `kernel.create_pod_netns`), as Docker does in
every container's netns: the sysctl is per netns, so it opens low ports inside the pod only,
and no pod process needs a capability (CAP_NET_BIND_SERVICE would have to be kept through
the uid change as an ambient capability, and bind-then-drop would put privilege code into
the server).

`exec` joins the namespaces of the pod's server (`nsenter --target <server pid>`), then drops
privileges the same way, so it sees exactly what the server sees.
"""

from __future__ import annotations

import os
from pathlib import Path

from dpictl.backends.local.kernel import netns_path

POD_UID = POD_GID = 65534          # nobody/nogroup: owns no file a pod should write to
POD_PATH = "/usr/local/sbin:/usr/local/bin:/usr/sbin:/usr/bin:/sbin:/bin"
POD_HOME = "/tmp"

# Run as root inside the new namespaces, before privileges are dropped. Positional
# arguments: HOSTNAME, the directories to mask, "--", the command.
_INIT_SCRIPT = r"""
set -e
host=$1; shift
while [ "$1" != "--" ]; do
  if [ -d "$1" ]; then
    mount -t tmpfs -o ro,mode=000,size=4k,nosuid,nodev,noexec dpictl-masked "$1"
  fi
  shift
done
shift
for d in /tmp /var/tmp /dev/shm; do
  if [ -d "$d" ]; then mount -t tmpfs -o mode=1777,size=64m,nosuid,nodev pod-tmp "$d"; fi
done
mount -t tmpfs -o mode=755,size=16m,nosuid,nodev pod-run /run
echo "$host" > /proc/sys/kernel/hostname
cd /tmp
exec "$@"
"""


def pod_environment(hostname: str, root: bool) -> dict[str, str]:
    """The whole environment of a pod process: nothing inherited but the terminal type."""
    user = "root" if root else "nobody"
    return {"PATH": POD_PATH, "HOME": POD_HOME, "LANG": "C.UTF-8",
            "TERM": os.environ.get("TERM", "dumb"), "HOSTNAME": hostname,
            "USER": user, "LOGNAME": user}


def drop_privileges(root: bool) -> list[str]:
    """The `setpriv` prefix that makes the rest of the command line an unprivileged process."""
    if root:
        return []
    return ["setpriv", f"--reuid={POD_UID}", f"--regid={POD_GID}", "--clear-groups",
            "--inh-caps=-all", "--bounding-set=-all", "--no-new-privs", "--"]


def pod_init_argv(pod_ns: str, hostname: str, masked: list[Path], command: list[str],
                  root: bool) -> list[str]:
    """Start `command` as pid 1 of a new pod: its netns, new pid/mount/UTS/IPC namespaces,
    private tmpfs, `masked` directories hidden, privileges dropped."""
    return ["nsenter", f"--net={netns_path(pod_ns)}", "--",
            "unshare", "--pid", "--fork", "--kill-child", "--mount-proc", "--mount", "--uts",
            "--ipc", "--propagation", "private", "--",
            "sh", "-c", _INIT_SCRIPT, "pod-init", hostname, *map(str, masked), "--",
            *drop_privileges(root), *command]


def pod_exec_argv(server_pid: int, command: list[str], root: bool) -> list[str]:
    """Run `command` in the namespaces of the pod whose server is `server_pid`."""
    return ["nsenter", f"--target={server_pid}", "--net", "--pid", "--mount", "--uts",
            "--ipc", "--wd", "--", *drop_privileges(root), *command]


__all__ = ["POD_UID", "POD_GID", "pod_environment", "drop_privileges", "pod_init_argv",
           "pod_exec_argv"]
