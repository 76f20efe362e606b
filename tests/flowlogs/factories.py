"""Flow log records for tests, the lab's blue2 -> blue1 by default."""

from __future__ import annotations

from dpictl.flowlogs.record import FlowLog


def make_flow(**overrides) -> FlowLog:
    values = dict(start_time=1000.0, end_time=1030.0, source_ip="10.10.2.2",
                  source_name="blue2", source_namespace="blue", dest_ip="10.10.2.1",
                  dest_name="blue1", dest_namespace="blue", dest_port=80, proto="tcp",
                  action="allow", reporter="src", num_flows=2, packets_in=5, packets_out=6,
                  bytes_in=700, bytes_out=400, source_labels={"app": "blue2", "tier": "web"},
                  dest_labels={"app": "blue1"}, host="node-1")
    values.update(overrides)
    return FlowLog(**values)
