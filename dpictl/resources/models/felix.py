"""FelixConfiguration (projectcalico.org/v3, cluster-scoped, `default`).

dpictl reads `spec.flowLogsFlushInterval` (Go duration, Calico default 5m0s), as Felix does:
it is how often the agent aggregates and flushes its flow logs (`dpictl flows list`), one
record per source, destination, port, proto and reporter per interval, read again at every
flush. Alerts are not held back by it (they are written as they happen); the agent also
uses it as the period of its status heartbeat. Other fields are kept as given.
"""

from __future__ import annotations

from dataclasses import dataclass

from dpictl.errors import ManifestError
from dpictl.resources.models.meta import mapping
from dpictl.duration import parse_duration

FELIX_DEFAULT_NAME = "default"
DEFAULT_FLOW_LOGS_FLUSH_INTERVAL = 300.0
_DURATION_FIELDS = ("flowLogsFlushInterval", "dnsLogsFlushInterval")


@dataclass(frozen=True, slots=True)
class FelixConfiguration:
    name: str
    flow_logs_flush_interval: float = DEFAULT_FLOW_LOGS_FLUSH_INTERVAL   # seconds

    @classmethod
    def from_manifest(cls, manifest: dict) -> "FelixConfiguration":
        meta = mapping(manifest.get("metadata"), "metadata")
        name = meta.get("name")
        if name != FELIX_DEFAULT_NAME and not str(name or "").startswith("node."):
            raise ManifestError(f"FelixConfiguration name must be 'default' or 'node.<node>', "
                                f"not {name!r}")
        spec = mapping(manifest.get("spec"), "spec")
        for key in _DURATION_FIELDS:
            if key in spec and not isinstance(spec[key], str):
                raise ManifestError(f"FelixConfiguration spec.{key} must be a duration string "
                                    f"like '30s', not {spec[key]!r}")
            if key in spec:
                parse_duration(spec[key], ManifestError)
        interval = spec.get("flowLogsFlushInterval")
        return cls(str(name), parse_duration(interval, ManifestError) if interval
                   else DEFAULT_FLOW_LOGS_FLUSH_INTERVAL)


__all__ = ["FelixConfiguration", "FELIX_DEFAULT_NAME", "DEFAULT_FLOW_LOGS_FLUSH_INTERVAL"]
