"""Kernel plumbing of the local cluster, through pyroute2: netns, veths, routes, sysctls.

Laid out as Calico lays out a node: each pod is a netns whose `eth0` holds a /32 and a
default route via 169.254.1.1; the host end of its veth (`cali...`, MAC ee:ee:ee:ee:ee:ee,
proxy ARP on) sits in the node netns with a /32 route to the pod, and the node forwards.
Proxy ARP on the cali answers the pods' ARP for 169.254.1.1, as on a Calico node; static
neighbour entries on both sides also make the first packet go without waiting on ARP.
"""

from __future__ import annotations

import ctypes
import os
import threading
from pathlib import Path
from typing import TYPE_CHECKING, Any, Callable

from dpictl.errors import ClusterError, PermissionDenied

if TYPE_CHECKING:
    from pyroute2 import IPRoute

# pyroute2 costs ~0.2 s to import, so it is imported only by the functions that change the
# kernel; reading state (`get`, health checks) uses /run/netns and /proc/sys instead.

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
    try:
        return sorted(os.listdir(NETNS_DIR))
    except FileNotFoundError:
        return []


def _pyroute2() -> tuple[Any, Any, type[Exception]]:
    from pyroute2 import IPRoute, netns
    from pyroute2.netlink.exceptions import NetlinkError

    return IPRoute, netns, NetlinkError


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


def _write_sysctls(values: dict[str, str]) -> None:
    for key, value in values.items():
        Path("/proc/sys", key).write_text(value)


def set_sysctls(name: str, values: dict[str, str]) -> None:
    """Write `/proc/sys/<key>` = value inside netns `name` (keys like net/ipv4/ip_forward)."""
    run_in_netns(name, lambda: _write_sysctls(values))


def in_netns(name: str, fn: Callable[[IPRoute], Any],
             sysctls: dict[str, str] | None = None) -> Any:
    """Call `fn(ipr)` with an rtnetlink socket opened inside netns `name`.

    Opening the socket from a thread that joined the netns is ~10x faster than pyroute2's
    NetNS (which forks a helper per socket), and pod creation opens several.
    """
    iproute = _pyroute2()[0]

    def work() -> Any:
        if sysctls:
            _write_sysctls(sysctls)
        with iproute() as ipr:
            return fn(ipr)
    return run_in_netns(name, work)


def _netlink_error(what: str, exc: Exception) -> ClusterError:
    return ClusterError(f"{what}: {exc}", hint="run `dpictl lab down` to clean up, then retry")


def ensure_node_netns(name: str) -> None:
    """Create the node netns (forwarding on) unless it is already there."""
    _, netns, NetlinkError = _pyroute2()
    try:
        if not netns_exists(name):
            netns.create(name)
    except OSError:
        if not netns_exists(name):   # lost a race with another dpictl: fine if it is there
            raise
    try:
        in_netns(name, _node_links, {"net/ipv4/ip_forward": "1", "net/ipv4/conf/all/rp_filter": "0",
                  "net/ipv4/conf/default/rp_filter": "0",
                  "net/ipv6/conf/all/disable_ipv6": "1",
                  "net/ipv6/conf/default/disable_ipv6": "1"})
    except (NetlinkError, OSError) as exc:
        raise _netlink_error(f"cannot set up node netns {name}", exc) from exc


def _node_links(ipr: IPRoute) -> None:
    """lo up, and a unicast route for the pods' gateway 169.254.1.1 (via lo).

    That route is what makes proxy ARP work as on a Calico node: the kernel answers an ARP
    for 169.254.1.1 on a cali interface only when it would route that address out of another
    interface (on a real node, the default route via the uplink does it). Nothing is ever
    sent to 169.254.1.1 itself: it is only a next hop.
    """
    lo = ipr.link_lookup(ifname="lo")[0]
    ipr.link("set", index=lo, state="up")
    ipr.route("replace", dst=f"{GATEWAY}/32", oif=lo, scope="link")


def create_pod_netns(pod_ns: str) -> None:
    """A fresh, empty pod netns (a stale one of the same name is removed first) in which an
    unprivileged process may bind ports below 1024: the pod's server runs as nobody on :80
    (the sysctl is per netns, so this opens nothing on the host; Docker does the same)."""
    netns = _pyroute2()[1]
    remove_netns(pod_ns)
    try:
        netns.create(pod_ns)
        set_sysctls(pod_ns, {"net/ipv4/ip_unprivileged_port_start": "0"})
    except OSError as exc:
        raise _netlink_error(f"cannot create netns {pod_ns}", exc) from exc


def plumb_pod(node_ns: str, pod_ns: str, host_if: str, ip: str) -> str:
    """Give the (existing) pod netns its veth, address and routes; returns eth0's MAC."""
    NetlinkError = _pyroute2()[2]
    try:
        host_index = in_netns(node_ns, lambda ipr: _add_veth(ipr, host_if, pod_ns))
        pod_mac = in_netns(pod_ns, lambda ipr: _configure_pod_side(ipr, ip),
                           {"net/ipv6/conf/all/disable_ipv6": "1",
                            "net/ipv6/conf/default/disable_ipv6": "1"})
        in_netns(node_ns, lambda ipr: _route_to_pod(ipr, host_index, ip, pod_mac),
                 {f"net/ipv4/conf/{host_if}/proxy_arp": "1",
                  f"net/ipv4/conf/{host_if}/rp_filter": "0",
                  f"net/ipv4/neigh/{host_if}/proxy_delay": "0"})
        return pod_mac
    except (NetlinkError, OSError, IndexError) as exc:
        remove_netns(pod_ns)
        raise _netlink_error(f"cannot set up pod network {pod_ns}", exc) from exc


def _add_veth(ipr: IPRoute, host_if: str, pod_ns: str) -> int:
    for stale in ipr.link_lookup(ifname=host_if):
        ipr.link("del", index=stale)
    ipr.link("add", ifname=host_if, kind="veth",
             peer={"ifname": POD_INTERFACE, "net_ns_fd": pod_ns})
    index = ipr.link_lookup(ifname=host_if)[0]
    ipr.link("set", index=index, address=HOST_MAC, state="up")
    return index


def _configure_pod_side(ipr: IPRoute, ip: str) -> str:
    ipr.link("set", index=ipr.link_lookup(ifname="lo")[0], state="up")
    index = ipr.link_lookup(ifname=POD_INTERFACE)[0]
    ipr.addr("add", index=index, address=ip, prefixlen=32)
    ipr.link("set", index=index, state="up")
    ipr.route("add", dst=f"{GATEWAY}/32", oif=index, scope="link")
    ipr.route("add", dst="0.0.0.0/0", gateway=GATEWAY, oif=index)
    ipr.neigh("replace", dst=GATEWAY, lladdr=HOST_MAC, ifindex=index, state="permanent")
    return str(ipr.get_links(index)[0].get_attr("IFLA_ADDRESS"))


def _route_to_pod(ipr: IPRoute, host_index: int, ip: str, pod_mac: str) -> None:
    ipr.route("replace", dst=f"{ip}/32", oif=host_index, scope="link")
    ipr.neigh("replace", dst=ip, lladdr=pod_mac, ifindex=host_index, state="permanent")


def unplumb_pod(node_ns: str, pod_ns: str, host_if: str) -> list[str]:
    """Remove a pod's veth and netns; returns what was removed."""
    removed = []
    NetlinkError = _pyroute2()[2]
    if netns_exists(node_ns):
        def delete(ipr: IPRoute) -> None:
            for index in ipr.link_lookup(ifname=host_if):
                ipr.link("del", index=index)
                removed.append(f"link {host_if} (netns {node_ns})")
        try:
            in_netns(node_ns, delete)
        except (NetlinkError, OSError):
            pass
    if remove_netns(pod_ns):
        removed.append(f"netns {pod_ns}")
    return removed


def remove_netns(name: str) -> bool:
    """Delete a netns if present; True when it was there."""
    if not netns_exists(name):
        return False
    try:
        _pyroute2()[1].remove(name)
    except OSError:
        try:
            os.unlink(netns_path(name))
        except FileNotFoundError:
            return False
    return True


def link_exists(ns_name: str, ifname: str) -> bool:
    if not netns_exists(ns_name) or "/" in ifname or ifname in ("", ".", ".."):
        return False
    # /proc/sys/net/ipv4/conf/<if> exists exactly for the interfaces of the thread's netns.
    return bool(run_in_netns(ns_name, lambda: Path("/proc/sys/net/ipv4/conf", ifname).exists()))


def link_stats(ns_name: str, ifname: str) -> dict[str, int]:
    """rx/tx packet and byte counters of one interface (tests and diagnostics)."""
    def read(ipr: IPRoute) -> dict[str, int]:
        index = ipr.link_lookup(ifname=ifname)
        if not index:
            raise ClusterError(f"no interface {ifname} in netns {ns_name}")
        stats = ipr.get_links(index[0])[0].get_attr("IFLA_STATS64")
        return {k: int(stats[k]) for k in ("rx_packets", "tx_packets", "rx_bytes", "tx_bytes")}
    return in_netns(ns_name, read)


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
           "in_netns", "ensure_node_netns", "create_pod_netns", "plumb_pod", "unplumb_pod",
           "remove_netns", "link_exists", "link_stats", "pids_in_netns", "GATEWAY", "HOST_MAC",
           "POD_INTERFACE"]
