"""Memory of a node inspecting N pods with the Suricata data plane: agent + Suricata (root).

Makes N veth pairs (suriplane-mK / suriplane-nK), then runs the real agent loop
(`run_agent` with `--engine suricata`'s plane: controller, capture loop, Suricata child) in a
child process, fed by an in-memory cluster of N endpoints on those interfaces and one
DeepPacketInspection selecting them all, with the Snort 3 community rules translated. Once
Suricata captures on all N interfaces it prints the resident memory of the agent and of
Suricata (and how much of Suricata's is its AF_PACKET rings), their sum, the restarts it
took to get there and the time. Calico's way, one Snort per endpoint, needs N processes of
~100 MB.

    PYTHONPATH=. python benchmarks/suricata_memory.py [N]      (default 50)
"""

from __future__ import annotations

import json
import os
import signal
import subprocess
import sys
import tempfile
import time
from pathlib import Path

SHARED = Path(__file__).resolve().parents[2] / "shared"
RULES = SHARED / "rules" / "snort3-community.rules"
NODE = "bench-node"


def rss_kb(pid: int) -> int:
    for line in Path(f"/proc/{pid}/status").read_text().splitlines():
        if line.startswith("VmRSS:"):
            return int(line.split()[1])
    return 0


def ring_kb(pid: int) -> int:
    """Resident pages of the AF_PACKET rings (mappings of a packet socket)."""
    total, ring = 0, False
    for line in Path(f"/proc/{pid}/smaps").read_text().splitlines():
        head = line.split()
        if head and "-" in head[0] and len(head) >= 5 and not head[0].endswith(":"):
            ring = len(head) > 5 and head[5].startswith("socket:")
        elif ring and line.startswith("Rss:"):
            total += int(head[1])
    return total


class MemorySource:
    """The cluster the agent sees: N pods on this node, one DPI selecting them all."""

    def __init__(self, interfaces: list[str]) -> None:
        from dpictl.backends.base import WorkloadEndpoint
        from dpictl.resources import workload_labels

        self.eps = [WorkloadEndpoint(namespace="bench", name=f"pod{i}", ip=f"10.77.{i // 250}."
                                     f"{i % 250 + 1}", node=NODE, interface=iface,
                                     labels=workload_labels("bench", {"app": "bench"}))
                    for i, iface in enumerate(interfaces)]

    def resources(self) -> list[dict]:
        return [{"apiVersion": "projectcalico.org/v3", "kind": "DeepPacketInspection",
                 "metadata": {"name": "all", "namespace": "bench"},
                 "spec": {"selector": "all()"}}]

    def endpoints(self) -> list:
        return list(self.eps)

    def settings(self):
        from dpictl.agent.sources import AgentSettings

        return AgentSettings()

    def report_status(self, dpi: dict, node: str, success: bool, error: str | None = None):
        pass


class NoSink:
    def add(self, alerts: list) -> list:
        return list(alerts)


def agent_child(n: int, work: Path, status: Path) -> None:
    """The agent, as `dpictl agent` runs it with --engine suricata (in this process)."""
    from dpictl.agent.runtime import run_agent
    from dpictl.suricata.agent_plane import suricata_plane

    def publish(snap: dict) -> None:
        tmp = status.with_suffix(".tmp")
        tmp.write_text(json.dumps(snap, default=str))
        tmp.replace(status)

    names = [f"suriplane-m{i}" for i in range(n)]
    run_agent(MemorySource(names), NoSink(), node=NODE, rule_paths=lambda: [RULES],
              publish=publish, reconcile_interval=1.0, **suricata_plane(work, None))


def stop(child: subprocess.Popen) -> None:
    """SIGTERM the agent (it stops its Suricata), SIGKILL the group if it hangs."""
    if child.poll() is None:
        os.killpg(child.pid, signal.SIGTERM)
        try:
            child.wait(60)
        except subprocess.TimeoutExpired:
            os.killpg(child.pid, signal.SIGKILL)
            child.wait()


def main() -> None:
    n = int(sys.argv[1]) if len(sys.argv) > 1 else 50
    names = [f"suriplane-m{i}" for i in range(n)]
    for i, name in enumerate(names):
        subprocess.run(["ip", "link", "add", name, "type", "veth", "peer", "name",
                        f"suriplane-n{i}"], check=True)
        subprocess.run(["ip", "link", "set", name, "up"], check=True)
        subprocess.run(["ip", "link", "set", f"suriplane-n{i}", "up"], check=True)
    child = None
    try:
        with tempfile.TemporaryDirectory() as tmp:
            status = Path(tmp) / "status.json"
            started = time.monotonic()
            with open(Path(tmp) / "agent.log", "wb") as agent_log:   # its warnings
                child = subprocess.Popen([sys.executable, __file__, "--agent", str(n), tmp,
                                          str(status)], start_new_session=True,
                                         stdout=agent_log, stderr=agent_log)
            snap: dict = {}
            while time.monotonic() - started < 600:
                if child.poll() is not None:
                    sys.exit(f"the agent exited ({child.returncode})")
                try:
                    snap = json.loads(status.read_text())
                except (OSError, ValueError):
                    snap = {}
                plane = snap.get("suricata") or {}
                if len(plane.get("interfaces") or []) == n and plane.get("pid"):
                    break
                time.sleep(0.5)
            else:
                sys.exit("Suricata never captured on every interface")
            ready = time.monotonic() - started
            time.sleep(3)
            pid = plane["pid"]
            agent, suricata, rings = rss_kb(child.pid), rss_kb(pid), ring_kb(pid)
            print(f"{n} pods, {snap['rules']['loaded']} rules: Suricata RSS "
                  f"{suricata / 1024:.0f} MB (AF_PACKET rings {rings / 1024:.0f} MB) + agent "
                  f"RSS {agent / 1024:.0f} MB = {(suricata + agent) / 1024:.0f} MB; "
                  f"capturing on all {n} after {ready:.1f} s, {plane['restarts']} restart(s)")
            stop(child)
    finally:
        if child is not None:
            stop(child)
        for name in names:
            subprocess.run(["ip", "link", "del", name], capture_output=True)


if __name__ == "__main__":
    if len(sys.argv) > 1 and sys.argv[1] == "--agent":
        agent_child(int(sys.argv[2]), Path(sys.argv[3]), Path(sys.argv[4]))
    else:
        main()
