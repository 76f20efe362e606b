"""The flow source: per-key packet and byte counters that the kernel keeps in the node netns,
in nftables sets fed by conntrack, read once per flush.

Why this source (measured, see benchmarks/bench_flowlogs.py and the commit history):
- a capture of our own (even header-only) costs the agent a wake-up and a frame per packet;
- reading conntrack entries (DESTROY events plus a dump per flush) costs the agent a netlink
  message per *connection*: 35-50 us in Python each, and a node keeps every closed TCP
  connection for 2 minutes (TIME_WAIT) in every dump. At 200 short connections/s that was
  11-26% of the agent's CPU - over the 5% budget;
- here the kernel aggregates. Forwarded packets update a dynamic set element keyed by
  Calico's flow key (source, destination, proto, dest port) with a counter; the agent reads
  the sets once per flush (one `nft -j list table`), at a cost that grows with the number of
  distinct keys, not with packets or connections. The numbers are the ones conntrack
  accounting gives (the tests compare them with the traffic they sent).

The sets (one chain, policy accept: forwarding is unchanged):
- `orig`   packets of the original direction, keyed by (saddr, daddr, proto, dport);
- `reply`  packets of the reply direction, keyed by the same original-direction key;
- `starts` the first packet of each connection (a conntrack mark bit makes a retransmitted
  SYN count once), so its packet counter is the number of connections started;
- `other_*` the same for protocols without ports (ICMP ...), keyed without a port.
`ct direction` and `ct state` make the kernel track connections in that netns (as kube-proxy's
and Felix's rules do on a real node). Elements expire after `ELEMENT_TIMEOUT` without
traffic, so a set holds recent keys only; each set holds at most `SET_SIZE` keys (new keys
are not counted beyond that). Needs `nft` (Debian package `nftables`).
"""

from __future__ import annotations

import json
import os
import shutil
import subprocess
from dataclasses import dataclass

from dpictl.backends.local.kernel import netns_path, set_sysctls
from dpictl.errors import ClusterError

NFT_TABLE = "dpictl_flowlogs"
SET_SIZE = 65536
ELEMENT_TIMEOUT = "1h"      # longer than any sane flush interval (Calico's default: 5m)
CT_MARK_COUNTED = "0x00100000"    # a connection's first packet was counted in `starts`


@dataclass(frozen=True, slots=True)
class KeyCounters:
    """Cumulative counters of one flow key since its set element was created."""

    source_ip: str
    dest_ip: str
    proto: str                          # "tcp", "udp", "icmp", or the protocol number
    dest_port: int                      # 0 when the protocol has no ports
    packets_orig: int = 0               # source -> dest
    bytes_orig: int = 0
    packets_reply: int = 0              # dest -> source
    bytes_reply: int = 0
    started: int = 0                    # connections started

    @property
    def key(self) -> tuple[str, str, str, int]:
        return (self.source_ip, self.dest_ip, self.proto, self.dest_port)


def _ruleset() -> str:
    ported = "type ipv4_addr . ipv4_addr . inet_proto . inet_service"
    portless = "type ipv4_addr . ipv4_addr . inet_proto"
    sets = "".join(
        f"  set {name} {{ {kind}; flags dynamic,timeout; timeout {ELEMENT_TIMEOUT}; "
        f"size {SET_SIZE}; counter; }}\n"
        for name, kind in (("orig", ported), ("reply", ported), ("starts", ported),
                           ("other_orig", portless), ("other_reply", portless),
                           ("other_starts", portless)))
    fwd = "ip saddr . ip daddr . meta l4proto"
    rev = "ip daddr . ip saddr . meta l4proto"
    ports = "meta l4proto { tcp, udp, sctp }"
    no_ports = "meta l4proto != { tcp, udp, sctp }"
    first = (f"ct state new ct mark and {CT_MARK_COUNTED} == 0 "
             f"ct mark set ct mark or {CT_MARK_COUNTED}")
    return (
        f"table ip {NFT_TABLE} {{\n{sets}"
        "  chain forward {\n"
        "    type filter hook forward priority 0; policy accept;\n"
        f"    {ports} ct direction original update @orig {{ {fwd} . th dport }}\n"
        f"    {ports} ct direction reply update @reply {{ {rev} . th sport }}\n"
        f"    {ports} {first} update @starts {{ {fwd} . th dport }}\n"
        f"    {no_ports} ct direction original update @other_orig {{ {fwd} }}\n"
        f"    {no_ports} ct direction reply update @other_reply {{ {rev} }}\n"
        f"    {no_ports} {first} update @other_starts {{ {fwd} }}\n"
        "  }\n}\n")


def nft_available() -> bool:
    return shutil.which("nft") is not None


def _nft(netns: str | None, args: list[str], stdin: str | None = None) -> str:
    prefix = ["ip", "netns", "exec", netns] if netns is not None else []
    try:
        done = subprocess.run([*prefix, "nft", *args], input=stdin, capture_output=True,
                              text=True, timeout=30)
    except FileNotFoundError:
        raise ClusterError("flow logs need nftables (nft)",
                           hint="apt-get install nftables") from None
    if done.returncode != 0:
        raise ClusterError(f"nft in netns {netns or '(own)'} failed: "
                           f"{done.stderr.strip().splitlines()[-1:] or ['?']}")
    return done.stdout


def enable_accounting(netns: str | None) -> bool:
    """Install the counting table in `netns` (None: this process's own) unless it is there;
    True when it was installed now. An existing table is left alone: replacing it would
    lose the counts of the interval in progress."""
    if not nft_available():
        raise ClusterError("flow logs need nftables (nft) to count flows",
                           hint="apt-get install nftables")
    if netns is not None:
        if not os.path.exists(netns_path(netns)):
            raise ClusterError(f"no network namespace {netns}")
        # conntrack's own counters too (`conntrack -L` shows them); the sets do not need it
        set_sysctls(netns, {"net/netfilter/nf_conntrack_acct": "1"})
    try:
        _nft(netns, ["list", "table", "ip", NFT_TABLE])
        return False
    except ClusterError:
        pass
    _nft(netns, ["-f", "-"], _ruleset())
    return True


def disable_accounting(netns: str | None) -> None:
    """Remove the table (the node netns going away removes it too)."""
    if nft_available() and (netns is None or os.path.exists(netns_path(netns))):
        _nft(netns, ["-f", "-"], f"table ip {NFT_TABLE} {{}}\ndelete table ip {NFT_TABLE}\n")


def read_counters(netns: str | None) -> list[KeyCounters]:
    """Every key's cumulative counters, from one listing of the table."""
    doc = json.loads(_nft(netns, ["-j", "list", "table", "ip", NFT_TABLE]) or "{}")
    merged: dict[tuple, dict[str, int]] = {}
    for item in doc.get("nftables", []):
        found = item.get("set")
        if not found:
            continue
        name = found.get("name", "")
        direction = name.removeprefix("other_")
        for entry in found.get("elem") or []:
            elem = entry.get("elem") if isinstance(entry, dict) else None
            if not isinstance(elem, dict):
                continue
            parts = (elem.get("val") or {}).get("concat") or []
            counter = elem.get("counter") or {}
            if len(parts) not in (3, 4):
                continue
            key = (str(parts[0]), str(parts[1]), str(parts[2]),
                   int(parts[3]) if len(parts) == 4 else 0)
            slot = merged.setdefault(key, {})
            packets, octets = int(counter.get("packets", 0)), int(counter.get("bytes", 0))
            if direction == "starts":
                slot["started"] = packets
            else:
                slot[f"packets_{direction}"] = packets
                slot[f"bytes_{direction}"] = octets
    return [KeyCounters(*key, **values) for key, values in merged.items()]


__all__ = ["KeyCounters", "enable_accounting", "disable_accounting", "read_counters",
           "nft_available", "NFT_TABLE", "SET_SIZE", "ELEMENT_TIMEOUT"]
