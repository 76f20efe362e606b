"""Kernel plumbing of the local cluster, through pyroute2: netns, veths, routes, sysctls.

Laid out as Calico lays out a node: each pod is a netns whose `eth0` holds a /32 and a
default route via 169.254.1.1; the host end of its veth (`cali...`, MAC ee:ee:ee:ee:ee:ee,
proxy ARP on) sits in the node netns with a /32 route to the pod, and the node forwards.
Static neighbour entries on both sides make the first packet go without waiting on ARP.
"""

from __future__ import annotations

import ctypes
import os
import threading
from pathlib import Path
from typing import Any, Callable

from pyroute2 import NetNS, netns
from pyroute2.netlink.exceptions import NetlinkError

from dpictl.errors import ClusterError, PermissionDenied

NETNS_DIR = Path("/run/netns")
GATEWAY = "169.254.1.1"
HOST_MAC = "ee:ee:ee:ee:ee:ee"
POD_INTERFACE = "eth0"
_CLONE_NEWNET = 0x40000000
_libc = ctypes.CDLL(None, use_errno=True)


def require_root() -> None:
    if os.geteuid() != 0:
        raise PermissionDenied("the local backend needs root: it creates network namespaces",
                               hint="run dpictl as root (sudo), or use --backend kubernetes")


def netns_path(name: str) -> Path:
    return NETNS_DIR / name


def netns_exists(name: str) -> bool:
    return netns_path(name).exists()


def list_netns() -> list[str]:
    return sorted(netns.listnetns())


def run_in_netns(name: str, fn: Callable[[], Any]) -> Any:
    """Run `fn` in a short-lived thread that has joined netns `name`.

    setns(2) only moves the calling thread, so the rest of the process stays put; /proc/sys/
    net seen from that thread belongs to the netns, which is how sysctls are set per netns.
    """
    box: dict[str, Any] = {}

    def target() -> None:
        try:
            fd = os.open(netns_path(name), os.O_RDONLY)
            try:
                if _libc.setns(fd, _CLONE_NEWNET) != 0:
                    err = ctypes.get_errno()
                    raise OSError(err, f"setns({name}): {os.strerror(err)}")
            finally:
                os.close(fd)
            box["value"] = fn()
        except BaseException as exc:  # handed back to the caller's thread
            box["error"] = exc

    thread = threading.Thread(target=target, name=f"netns-{name}")
    thread.start()
    thread.join()
    if "error" in box:
        raise box["error"]
    return box.get("value")


def set_sysctls(name: str, values: dict[str, str]) -> None:
    """Write `/proc/sys/<key>` = value inside netns `name` (keys like net/ipv4/ip_forward)."""
    def write() -> None:
        for key, value in values.items():
            Path("/proc/sys", key).write_text(value)
    run_in_netns(name, write)


def _netlink_error(what: str, exc: Exception) -> ClusterError:
    return ClusterError(f"{what}: {exc}", hint="run `dpictl lab down` to clean up, then retry")


def ensure_node_netns(name: str) -> None:
    """Create the node netns (forwarding on) unless it is already there."""
    if netns_exists(name):
        return
    try:
        netns.create(name)
        with NetNS(name) as ns:
            ns.link("set", index=ns.link_lookup(ifname="lo")[0], state="up")
    except (NetlinkError, OSError) as exc:
        raise _netlink_error(f"cannot create node netns {name}", exc) from exc
    set_sysctls(name, {"net/ipv4/ip_forward": "1", "net/ipv4/conf/all/rp_filter": "0",
                       "net/ipv4/conf/default/rp_filter": "0",
                       "net/ipv6/conf/all/disable_ipv6": "1",
                       "net/ipv6/conf/default/disable_ipv6": "1"})


def plumb_pod(node_ns: str, pod_ns: str, host_if: str, ip: str) -> str:
    """Create the pod netns and its veth, addresses, routes; returns the pod's eth0 MAC."""
    remove_netns(pod_ns)
    try:
        netns.create(pod_ns)
        set_sysctls(pod_ns, {"net/ipv6/conf/all/disable_ipv6": "1",
                             "net/ipv6/conf/default/disable_ipv6": "1"})
        with NetNS(node_ns) as node:
            for stale in node.link_lookup(ifname=host_if):
                node.link("del", index=stale)
            node.link("add", ifname=host_if, kind="veth",
                      peer={"ifname": POD_INTERFACE, "net_ns_fd": pod_ns})
            host_index = node.link_lookup(ifname=host_if)[0]
            node.link("set", index=host_index, address=HOST_MAC, state="up")
        set_sysctls(node_ns, {f"net/ipv4/conf/{host_if}/proxy_arp": "1",
                              f"net/ipv4/conf/{host_if}/rp_filter": "0",
                              f"net/ipv4/neigh/{host_if}/proxy_delay": "0"})
        pod_mac = _configure_pod_side(pod_ns, ip)
        with NetNS(node_ns) as node:
            node.route("replace", dst=f"{ip}/32", oif=host_index, scope="link")
            node.neigh("replace", dst=ip, lladdr=pod_mac, ifindex=host_index,
                       state="permanent")
        return pod_mac
    except (NetlinkError, OSError, IndexError) as exc:
        remove_netns(pod_ns)
        raise _netlink_error(f"cannot set up pod network {pod_ns}", exc) from exc


def _configure_pod_side(pod_ns: str, ip: str) -> str:
    with NetNS(pod_ns) as pod:
        pod.link("set", index=pod.link_lookup(ifname="lo")[0], state="up")
        index = pod.link_lookup(ifname=POD_INTERFACE)[0]
        pod.addr("add", index=index, address=ip, prefixlen=32)
        pod.link("set", index=index, state="up")
        pod.route("add", dst=f"{GATEWAY}/32", oif=index, scope="link")
        pod.route("add", dst="0.0.0.0/0", gateway=GATEWAY, oif=index)
        pod.neigh("replace", dst=GATEWAY, lladdr=HOST_MAC, ifindex=index, state="permanent")
        return str(pod.get_links(index)[0].get_attr("IFLA_ADDRESS"))


def unplumb_pod(node_ns: str, pod_ns: str, host_if: str) -> list[str]:
    """Remove a pod's veth and netns; returns what was removed."""
    removed = []
    if netns_exists(node_ns):
        try:
            with NetNS(node_ns) as node:
                for index in node.link_lookup(ifname=host_if):
                    node.link("del", index=index)
                    removed.append(f"link {host_if} (netns {node_ns})")
        except NetlinkError:
            pass
    if remove_netns(pod_ns):
        removed.append(f"netns {pod_ns}")
    return removed


def remove_netns(name: str) -> bool:
    """Delete a netns if present; True when it was there."""
    if not netns_exists(name):
        return False
    try:
        netns.remove(name)
    except OSError:
        try:
            os.unlink(netns_path(name))
        except FileNotFoundError:
            return False
    return True


def link_exists(ns_name: str, ifname: str) -> bool:
    if not netns_exists(ns_name):
        return False
    with NetNS(ns_name) as ns:
        return bool(ns.link_lookup(ifname=ifname))


def link_stats(ns_name: str, ifname: str) -> dict[str, int]:
    """rx/tx packet and byte counters of one interface (tests and diagnostics)."""
    with NetNS(ns_name) as ns:
        index = ns.link_lookup(ifname=ifname)
        if not index:
            raise ClusterError(f"no interface {ifname} in netns {ns_name}")
        stats = ns.get_links(index[0])[0].get_attr("IFLA_STATS64")
        return {k: int(stats[k]) for k in ("rx_packets", "tx_packets", "rx_bytes", "tx_bytes")}


def pids_in_netns(name: str) -> list[int]:
    """Processes whose network namespace is netns `name` (as `ip netns pids`)."""
    try:
        target = os.stat(netns_path(name))
    except FileNotFoundError:
        return []
    pids = []
    for entry in os.listdir("/proc"):
        if not entry.isdigit():
            continue
        try:
            st = os.stat(f"/proc/{entry}/ns/net")
        except OSError:
            continue
        if (st.st_ino, st.st_dev) == (target.st_ino, target.st_dev):
            pids.append(int(entry))
    return pids


__all__ = ["require_root", "netns_exists", "list_netns", "run_in_netns", "set_sysctls",
           "ensure_node_netns", "plumb_pod", "unplumb_pod", "remove_netns", "link_exists",
           "link_stats", "pids_in_netns", "GATEWAY", "HOST_MAC", "POD_INTERFACE"]
