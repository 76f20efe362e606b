"""Names of everything the local backend puts in the kernel, all derived from a cluster id.

Every netns is `<cluster-id>-node` or `<cluster-id>-<namespace>-<pod>`, so two state files
(two test runs, two users) never touch each other's objects, and `down` can find leftovers
by prefix even when the state file is gone: the default id is derived from the state file's
path, so the same path always means the same cluster. Host-side veths are named as Calico
names them (`cali` + 11 hex digits of sha1("<namespace>.<pod>")); they live inside the
cluster's node netns, so equal names in two clusters never collide.
"""

from __future__ import annotations

import hashlib
import os
import re
from pathlib import Path

from dpictl.errors import UsageError

CLUSTER_ID_ENV = "DPICTL_CLUSTER_ID"
INTERFACE_PREFIX = "cali"
_CLUSTER_ID = re.compile(r"^[a-z0-9][a-z0-9]{2,19}$")
_MAX_NETNS_NAME = 80


def derived_cluster_id(db_path: Path) -> str:
    """`dpictl` + 6 hex digits of the state file's absolute path."""
    digest = hashlib.sha1(str(Path(db_path).absolute()).encode()).hexdigest()
    return "dpictl" + digest[:6]


def check_cluster_id(value: str) -> str:
    if not _CLUSTER_ID.match(value):
        raise UsageError(f"invalid cluster id {value!r}",
                         hint="3-20 lowercase letters and digits, e.g. dlb1a2b3c")
    return value


def env_cluster_id() -> str | None:
    value = os.environ.get(CLUSTER_ID_ENV)
    return check_cluster_id(value) if value else None


def node_netns_name(cluster_id: str) -> str:
    return f"{cluster_id}-node"


def pod_netns_name(cluster_id: str, namespace: str, pod: str) -> str:
    """`<cluster>-<ns>-<pod>`, shortened with a hash when it would be unwieldy."""
    name = f"{cluster_id}-{namespace}-{pod}"
    if len(name) <= _MAX_NETNS_NAME:
        return name
    digest = hashlib.sha1(f"{namespace}.{pod}".encode()).hexdigest()[:10]
    return f"{name[:_MAX_NETNS_NAME - 11]}-{digest}"


def cluster_prefix(cluster_id: str) -> str:
    """Every netns of the cluster starts with this."""
    return f"{cluster_id}-"


def host_interface_name(namespace: str, pod: str, prefix: str = INTERFACE_PREFIX) -> str:
    """Calico's host-side veth name: red/red1 -> cali08ce55c424a."""
    return prefix + hashlib.sha1(f"{namespace}.{pod}".encode()).hexdigest()[:11]


__all__ = ["CLUSTER_ID_ENV", "derived_cluster_id", "check_cluster_id", "env_cluster_id",
           "node_netns_name", "pod_netns_name", "cluster_prefix", "host_interface_name"]
