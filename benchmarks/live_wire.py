"""The wire of the live benchmark: a veth whose capture end sits alone in a network namespace.

Built as shared/reference/live-benchmark.md describes, so that figures compare with the
issue's: MTU 65535 on both ends (the bench pcap has frames up to 64 KB), IPv6 off on both ends
(no router or neighbour chatter adds packets), and no address on the capture end (nothing in
the namespace answers). tcpreplay sends on the host end; the engine captures the other end.

Names start with `lb` and carry a random suffix, so parallel runs never collide, and
`Wire.close()` removes everything it made, whatever state the setup stopped in.

It also reads the counters that say whether a packet was lost before it reached AF_PACKET:
the drop column of /proc/net/softnet_stat (the per-CPU backlog overflowing) and the veth
ends' dropped counters.
"""

from __future__ import annotations

import json
import secrets
import subprocess
from dataclasses import dataclass
from pathlib import Path


def _ip(*args: str, check: bool = True) -> subprocess.CompletedProcess[str]:
    return subprocess.run(["ip", *args], check=check, capture_output=True, text=True)


def _sysctl(netns: str | None, key: str, value: str) -> None:
    cmd = ["sysctl", "-qw", f"{key}={value}"]
    if netns:
        cmd = ["ip", "netns", "exec", netns, *cmd]
    subprocess.run(cmd, check=True, capture_output=True, text=True)


@dataclass(frozen=True)
class LossCounters:
    """Counters that grow when the kernel drops a packet before any packet socket sees it."""

    softnet_drops: int          # sum over CPUs of /proc/net/softnet_stat's second column
    capture_rx_dropped: int     # the capture end's rx_dropped
    send_tx_dropped: int        # the sending end's tx_dropped (veth_xmit could not forward)

    def moved_since(self, before: "LossCounters") -> dict[str, int]:
        """The counters that grew since `before`, with how much (empty when none did)."""
        deltas = {
            "softnet_stat drops": self.softnet_drops - before.softnet_drops,
            "capture veth rx_dropped": self.capture_rx_dropped - before.capture_rx_dropped,
            "send veth tx_dropped": self.send_tx_dropped - before.send_tx_dropped,
        }
        return {name: delta for name, delta in deltas.items() if delta}


def softnet_drops(text: str | None = None) -> int:
    """Sum of the `dropped` column (the second, hex) of /proc/net/softnet_stat.

    The file is global to the machine, not per namespace, so traffic of other programs can
    move it too: a moved counter is a warning to look, not proof that our packets died."""
    if text is None:
        text = Path("/proc/net/softnet_stat").read_text()
    return sum(int(line.split()[1], 16) for line in text.splitlines() if line.strip())


class Wire:
    """A netns holding the capture end of a veth; the sending end stays in this namespace."""

    def __init__(self, prefix: str = "lb", mtu: int = 65535) -> None:
        # interface names hold 15 characters: a long prefix gets a shorter random part
        suffix = secrets.token_hex(3)[:max(2, 14 - len(prefix))]
        self.netns = f"{prefix}{suffix}"            # e.g. lb3fa09c
        self.send_iface = f"{prefix}{suffix}s"       # host side: tcpreplay sends here
        self.capture_iface = f"{prefix}{suffix}c"    # in self.netns: the engine captures here
        self.mtu = mtu
        self._made_netns = self._made_link = False

    def __enter__(self) -> "Wire":
        try:
            self.open()
        except BaseException:
            self.close()
            raise
        return self

    def __exit__(self, *exc: object) -> None:
        self.close()

    def open(self) -> None:
        _ip("netns", "add", self.netns)
        self._made_netns = True
        _ip("link", "add", self.send_iface, "type", "veth", "peer", "name", self.capture_iface)
        self._made_link = True
        # IPv6 off before the links come up, so not even one router solicitation goes out.
        _sysctl(None, f"net.ipv6.conf.{self.send_iface}.disable_ipv6", "1")
        _ip("link", "set", self.capture_iface, "netns", self.netns)
        _sysctl(self.netns, f"net.ipv6.conf.{self.capture_iface}.disable_ipv6", "1")
        _ip("link", "set", self.send_iface, "mtu", str(self.mtu), "up")
        _ip("-n", self.netns, "link", "set", self.capture_iface, "mtu", str(self.mtu), "up")
        _ip("-n", self.netns, "link", "set", "lo", "up")

    def close(self) -> None:
        """Remove the veth (both ends go together) and the namespace; never raises."""
        if self._made_link:
            _ip("link", "del", self.send_iface, check=False)
            self._made_link = False
        if self._made_netns:
            _ip("netns", "del", self.netns, check=False)
            self._made_netns = False

    def loss_counters(self) -> LossCounters:
        return LossCounters(
            softnet_drops=softnet_drops(),
            capture_rx_dropped=self._link_stat(self.netns, self.capture_iface, "rx", "dropped"),
            send_tx_dropped=self._link_stat(None, self.send_iface, "tx", "dropped"))

    @staticmethod
    def _link_stat(netns: str | None, iface: str, direction: str, field: str) -> int:
        where = ["-n", netns] if netns else []
        out = _ip("-j", "-s", *where, "link", "show", "dev", iface).stdout
        return int(json.loads(out)[0]["stats64"][direction][field])


__all__ = ["Wire", "LossCounters", "softnet_drops"]
