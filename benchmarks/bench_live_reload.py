"""Rules reloaded under live traffic: does the agent lose packets while it swaps rulesets?

Needs root. Builds netns `rulesmgmt-bench` with a veth pair (rulesmgmt-b0 -> rulesmgmt-b1),
runs the agent loop (`AgentRuntime`: capture thread on AF_PACKET, controller, one monitor on
rulesmgmt-b1) with the built-in + managed rules (the Snort 3 community ruleset, installed by a
real `update()` from a file source), then replays a pcap with tcpreplay on rulesmgmt-b0 while
the managed ruleset is replaced every `--every` seconds (sid 21562 disabled / enabled, as
`dpictl rules disable|enable` write it). Each replacement makes the agent compile the new
rules on its controller thread and swap them in on the capture thread.

Prints: frames tcpreplay sent, frames the kernel handed to the socket and dropped (ring full),
frames the monitor's engine was fed, the reloads done, and the capture thread's pause at each
swap. "lost" = sent - fed. Cleans up the netns on exit. This is a measurement script.

    sudo .venv/bin/python benchmarks/bench_live_reload.py [--pcap P] [--pps 2000] [--every 2]
"""

from __future__ import annotations

import argparse
import os
import re
import subprocess
import tempfile
import threading
import time
from pathlib import Path

SHARED = Path(__file__).resolve().parents[2] / "shared"
NS, TX, RX = "rulesmgmt-bench", "rulesmgmt-b0", "rulesmgmt-b1"


def sh(*argv: str, check: bool = True) -> subprocess.CompletedProcess:
    return subprocess.run(argv, capture_output=True, text=True, check=check, timeout=600)


def make_netns() -> None:
    sh("ip", "netns", "add", NS)
    sh("ip", "-n", NS, "link", "add", TX, "type", "veth", "peer", "name", RX)
    for iface in (TX, RX):
        sh("ip", "netns", "exec", NS, "sysctl", "-qw", f"net.ipv6.conf.{iface}.disable_ipv6=1")
        sh("ip", "-n", NS, "link", "set", iface, "up")


class _Cluster:
    """One DPI resource selecting one endpoint whose interface is RX."""

    def __init__(self) -> None:
        from dpictl.backends.base import WorkloadEndpoint
        from dpictl.resources import workload_labels

        self._ep = WorkloadEndpoint("bench", "pod", "10.0.0.1", "bench-node", RX,
                                    workload_labels("bench", {"app": "pod"}))

    def resources(self) -> list[dict]:
        return [{"apiVersion": "projectcalico.org/v3", "kind": "DeepPacketInspection",
                 "metadata": {"name": "all", "namespace": "bench"},
                 "spec": {"selector": "all()"}}]

    def endpoints(self):
        return [self._ep]

    def settings(self):
        from dpictl.agent.sources import AgentSettings

        return AgentSettings()

    def report_status(self, *args, **kwargs) -> None:
        pass


class _Sink:
    def __init__(self) -> None:
        self.alerts = 0

    def add(self, alerts) -> None:
        self.alerts += len(alerts)


def install_rules(scratch: Path) -> tuple[bytes, bytes]:
    """A managed ruleset from the community file; (as updated, with 21562 disabled)."""
    os.environ["DPICTL_RULES_DIR"] = str(scratch / "rules")
    from dpictl.rulesets import RulesDir
    from dpictl.rulesets.sources import add_source
    from dpictl.rulesets.update import update

    rules = RulesDir.default()
    add_source(rules, "community", str(SHARED / "rules" / "snort3-community.rules"))
    update(rules)
    enabled = rules.managed.read_bytes()
    disabled = re.sub(rb"(?m)^(alert [^\n]*sid:21562;)", rb"# \1", enabled)
    assert disabled != enabled
    return enabled, disabled


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--pcap", type=Path, default=SHARED / "pcaps" / "ec-ultra_lab_03-14.pcap")
    parser.add_argument("--pps", type=int, default=2000)
    parser.add_argument("--every", type=float, default=2.0, help="seconds between reloads")
    parser.add_argument("--blocks", type=int, default=None,
                        help="ring blocks (default: the agent's own ring)")
    parser.add_argument("--block-kib", type=int, default=64)
    parser.add_argument("--workers", type=int, default=1,
                        help="agent workers (1: the capture thread and the reload share one "
                             "process, the hard case; more: forked workers)")
    args = parser.parse_args()
    from dpictl.agent.runtime import AgentRuntime, afpacket_factory
    from dpictl.rulesets.layout import write_atomically

    sources = []

    def open_source(ifaces, on_vanished=None, fanout_group=None):
        if args.blocks is None:
            src = afpacket_factory(NS)(ifaces, on_vanished=on_vanished,
                                       fanout_group=fanout_group)
        else:       # the same source, with a ring of more (smaller) blocks
            from dpictl.capture import AfPacketSource

            src = AfPacketSource(ifaces, netns=NS, on_vanished=on_vanished,
                                 block_size=args.block_kib << 10, block_count=args.blocks,
                                 fanout_group=fanout_group)
        sources.append(src)
        return src

    snaps: list[dict] = []
    with tempfile.TemporaryDirectory(prefix="rulesmgmt-bench-") as scratch:
        versions = install_rules(Path(scratch))
        managed = Path(os.environ["DPICTL_RULES_DIR"]) / "managed.rules"
        make_netns()
        sink = _Sink()
        runtime = AgentRuntime(source=_Cluster(), sink=sink, node="bench-node",
                               capture_factory=open_source, publish=snaps.append,
                               workers=args.workers)
        thread = threading.Thread(target=runtime.run, daemon=True)
        try:
            thread.start()
            while not (snaps and snaps[-1]["monitors"]):
                time.sleep(0.1)
            replay = subprocess.Popen(["ip", "netns", "exec", NS, "tcpreplay", "-i", TX,
                                       f"--pps={args.pps}", str(args.pcap)],
                                      stdout=subprocess.PIPE, stderr=subprocess.STDOUT, text=True)
            reloads, pauses = 0, []
            next_reload = time.monotonic() + args.every
            while replay.poll() is None:
                time.sleep(0.1)
                if replay.poll() is None and time.monotonic() >= next_reload:
                    reloads += 1
                    write_atomically(managed, versions[reloads % 2])
                    next_reload += args.every
            out = replay.stdout.read() if replay.stdout else ""
            time.sleep(min(args.every, 5) + 3)    # the last reload and the queue drain
            pauses = sorted({s.get("reload_pause_seconds") for s in snaps
                             if s.get("reload_pause_seconds")})
            sent = int(re.search(r"Actual: (\d+) packets", out).group(1))
            kernel = sources[-1].stats().get(RX, {})
            fed = snaps[-1]["monitors"][0]["packets"]
            compiled = snaps[-1]["rules"]
        finally:
            runtime.stop()
            thread.join(15)
            sh("ip", "netns", "del", NS, check=False)
    print(f"replayed {args.pcap.name} at {args.pps} pps: sent {sent}, kernel to socket "
          f"{kernel.get('kernel_packets')}, kernel drops {kernel.get('kernel_drops')}, fed to the engine "
          f"{fed}, lost {sent - fed}")
    print(f"{reloads} ruleset replacements, every {args.every} s; capture sources opened: "
          f"{len(sources)}; last compile {compiled['compile_seconds']} s for "
          f"{compiled['loaded']} rules; alerts {sink.alerts}")
    if pauses:
        print(f"capture-thread pause at a swap: {min(pauses) * 1e3:.1f}-"
              f"{max(pauses) * 1e3:.1f} ms over {len(pauses)} distinct published values")


if __name__ == "__main__":
    main()
