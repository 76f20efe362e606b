"""One flow log record, shaped like Calico's (Felix's flow logs, as Elasticsearch stores them).

Felix aggregates the connections it sees over `flowLogsFlushInterval` and writes one record
per (source, destination, port, proto, action, reporter) and interval; `num_flows` counts
the connections folded into it. The field names here are Calico's, so `-o json` can be
fed to the tools that read Calico flow logs. Direction follows `reporter`: for `src` the
reporting endpoint is the source, so `packets_out` is what the source sent; for `dst` the
reporting endpoint is the destination, so `packets_in` is what it received from the source.
"""

from __future__ import annotations

from dataclasses import asdict, dataclass, field
from typing import Any

# Calico's `action` values (flow logs record the policy verdict of the reporter).
ACTIONS = ("allow", "deny")
# `reporter`: the endpoint whose Felix reported the flow.
REPORTERS = ("src", "dst")


@dataclass(frozen=True, slots=True)
class FlowLog:
    start_time: float                   # epoch seconds, start of the aggregation interval
    end_time: float                     # epoch seconds, end of the aggregation interval
    source_ip: str
    source_name: str                    # pod name, or "-" / "pvt" / "pub" for non-workloads
    source_namespace: str               # "-" when not a workload
    dest_ip: str
    dest_name: str
    dest_namespace: str
    dest_port: int
    proto: str                          # "tcp", "udp", "icmp", ...
    action: str = "allow"
    reporter: str = "src"
    num_flows: int = 1
    packets_in: int = 0
    packets_out: int = 0
    bytes_in: int = 0
    bytes_out: int = 0
    source_labels: dict[str, str] = field(default_factory=dict)
    dest_labels: dict[str, str] = field(default_factory=dict)
    host: str = ""                      # the node whose agent reported it (Calico's `host`)

    def to_dict(self) -> dict[str, Any]:
        """The record as Calico names its fields (labels as `key=value` lists, like Calico)."""
        data = asdict(self)
        data["source_labels"] = {"labels": [f"{k}={v}" for k, v in sorted(self.source_labels.items())]}
        data["dest_labels"] = {"labels": [f"{k}={v}" for k, v in sorted(self.dest_labels.items())]}
        return data

    @classmethod
    def from_dict(cls, data: dict[str, Any]) -> "FlowLog":
        """A record as `to_dict()` wrote it (labels back from `key=value` lists); unknown
        keys are ignored, so a newer writer's extra fields do not break an older reader."""
        values = {k: v for k, v in data.items() if k in cls.__dataclass_fields__}
        for side in ("source_labels", "dest_labels"):
            raw = values.get(side) or {}
            items = raw.get("labels", []) if isinstance(raw, dict) else []
            values[side] = dict(str(i).split("=", 1) for i in items if "=" in str(i))
        return cls(**values)


__all__ = ["FlowLog", "ACTIONS", "REPORTERS"]
