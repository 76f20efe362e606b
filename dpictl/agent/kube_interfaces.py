"""Which host interface carries a pod's traffic on this node.

With Calico it is the veth named by Calico's rule (`cali` + sha1 of "<namespace>.<pod>"),
which the endpoint already carries. Other CNIs name their veths differently, so when no link
of that name exists we ask the kernel: the route to the pod's IP leaves through its veth.
Links are read once per call (one netlink dump), inside the node's network namespace when
the agent is given one (the local lab's node namespace).
"""

from __future__ import annotations

import dataclasses
import logging
import time
from typing import Callable, Iterable

from dpictl.backends.base import WorkloadEndpoint

log = logging.getLogger(__name__)


def _ipr(netns: str | None):
    from pyroute2 import IPRoute, NetNS

    return NetNS(netns) if netns else IPRoute()


class InterfaceResolver:
    """Maps local endpoints to the interface to capture on (Calico name, else route).

    The agent asks every second; the answer is reused while the endpoints are the same,
    and looked up again at least every `ttl` seconds (a veth may be recreated)."""

    def __init__(self, netns: str | None = None, ttl: float = 10.0,
                 clock: Callable[[], float] = time.monotonic) -> None:
        self.netns = netns
        self.ttl = ttl
        self._clock = clock
        self._cached: tuple[tuple, float, list[WorkloadEndpoint]] | None = None

    def _links(self, ipr) -> dict[int, str]:
        return {link["index"]: link.get_attr("IFLA_IFNAME") for link in ipr.get_links()}

    @staticmethod
    def _route_iface(ipr, ip: str, links: dict[int, str]) -> str | None:
        try:
            routes = ipr.route("get", dst=ip)
        except Exception as exc:             # no route: not a local pod after all
            log.debug("no route to %s: %s", ip, exc)
            return None
        for route in routes:
            oif = route.get_attr("RTA_OIF")
            if oif in links:
                return links[oif]
        return None

    @staticmethod
    def _uplinks(ipr, links: dict[int, str]) -> set[str]:
        """Interfaces of the default routes, and lo: never a pod's interface."""
        ups = {"lo"}
        try:
            for route in ipr.get_default_routes():
                oif = route.get_attr("RTA_OIF")
                if oif in links:
                    ups.add(links[oif])
        except Exception:
            pass
        return ups

    def resolve(self, endpoints: Iterable[WorkloadEndpoint]) -> list[WorkloadEndpoint]:
        """The endpoints with `interface` set to a link that exists here, where one does."""
        eps = list(endpoints)
        if not eps:
            return eps
        key = tuple(eps)
        now = self._clock()
        if self._cached and self._cached[0] == key and now - self._cached[1] < self.ttl:
            return list(self._cached[2])
        out = self._lookup(eps)
        self._cached = (key, now, out)
        return list(out)

    def _lookup(self, eps: list[WorkloadEndpoint]) -> list[WorkloadEndpoint]:
        try:
            ipr = _ipr(self.netns)
        except Exception as exc:
            log.warning("cannot open netlink%s: %s",
                        f" in netns {self.netns}" if self.netns else "", exc)
            return eps
        try:
            links = self._links(ipr)
            names = set(links.values())
            uplinks = self._uplinks(ipr, links)
            out = []
            for ep in eps:
                if ep.interface in names:
                    out.append(ep)
                    continue
                found = self._route_iface(ipr, ep.ip, links)
                # A route out of the uplink means the pod is not behind a local veth.
                if found and found not in uplinks:
                    out.append(dataclasses.replace(ep, interface=found))
                else:
                    out.append(ep)
            return out
        finally:
            ipr.close()


__all__ = ["InterfaceResolver"]
