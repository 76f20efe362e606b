"""The suricata.yaml dpictl generates for each Suricata it starts.

dpictl owns the whole configuration rather than patching the distribution's file: the
variables must be the ones the rules were checked with (`dpictl.rules.DEFAULT_VARS` plus
`--var`), the classtypes the ones dpictl knows, and the outputs the ones dpictl reads (EVE
alerts and stats to a file, FIFO or unix socket). Everything else follows the shared oracle's
settings (all app-layer parsers on, checksum checks off), so that a Suricata started by
dpictl alerts as the oracle does.
"""

from __future__ import annotations

import re
from dataclasses import dataclass, field
from pathlib import Path

import yaml

from dpictl.rules.classifications import CLASSIFICATIONS
from dpictl.rules.variables import Variables



@dataclass(slots=True)
class SuricataSettings:
    """What varies between the Suricata runs dpictl makes."""

    log_dir: Path
    rule_files: list[Path]
    variables: dict[str, str] = field(default_factory=dict)
    interfaces: list[str] = field(default_factory=list)   # AF_PACKET capture (live mode)
    eve_path: Path | None = None          # default: log_dir/eve.json
    eve_filetype: str = "regular"         # regular (a file or a FIFO) or unix_stream
    stats_interval: int = 8               # seconds between EVE stats records
    unix_socket: Path | None = None       # suricatasc command socket (rule reloads)
    threads: int | None = None           # worker threads per interface (default 1)
    ring_frames: int | None = None       # AF_PACKET ring per interface (default: shared out)
    cluster_id_base: int = 90             # AF_PACKET fanout group ids (one per interface)


def port_text(value: str, variables: Variables) -> str:
    """A port variable with nested `$VAR`s expanded and runs of ports written as ranges.

    Suricata 7 refuses port strings longer than about 1 KB ("not every port block was
    properly closed"), and the community `$HTTP_PORTS` list is longer than that when written
    one port at a time.
    """
    text = _expand(value, variables)
    inner = text.strip()
    if not (inner.startswith("[") and inner.endswith("]")):
        return inner
    items = [i.strip() for i in inner[1:-1].split(",") if i.strip()]
    singles = sorted({int(i) for i in items if i.isdigit()})
    others = [i for i in items if not i.isdigit()]
    ranges: list[str] = []
    start = prev = None
    for port in singles + [None]:
        if start is not None and (port is None or port != prev + 1):
            ranges.append(str(start) if start == prev else f"{start}:{prev}")
            start = None
        if port is not None and start is None:
            start = port
        prev = port
    return "[" + ",".join(ranges + others) + "]"


def _expand(value: str, variables: Variables, depth: int = 0) -> str:
    if depth > 10:
        return value
    return re.sub(r"\$([A-Za-z_][A-Za-z0-9_]*)",
                  lambda m: _expand(variables.get(m.group(1)), variables, depth + 1)
                  .strip("[]") if value.strip().startswith("[")
                  else _expand(variables.get(m.group(1)), variables, depth + 1), value)


def _groups(variables: Variables) -> tuple[dict[str, str], dict[str, str]]:
    """Split dpictl's one variable table into Suricata's address and port groups."""
    addresses: dict[str, str] = {}
    ports: dict[str, str] = {}
    for name in variables.names():
        value = variables.get(name)
        if name.endswith("_PORTS") or name.endswith("_PORT"):
            ports[name] = port_text(value, variables)
        else:
            addresses[name] = value
    return addresses, ports


def classification_text() -> str:
    """classification.config for Suricata, from dpictl's own classtype table."""
    return "".join(f"config classification: {name},{c.description},{c.priority}\n"
                   for name, c in CLASSIFICATIONS.items())


def render(settings: SuricataSettings) -> str:
    """The suricata.yaml text (Suricata insists on the %YAML 1.1 directive line)."""
    variables = Variables(settings.variables)
    addresses, ports = _groups(variables)
    log_dir = settings.log_dir
    eve_file = settings.eve_path or (log_dir / "eve.json")
    doc: dict = {
        "vars": {"address-groups": addresses, "port-groups": ports},
        "default-log-dir": str(log_dir),
        "default-rule-path": str(log_dir),
        "rule-files": [str(p) for p in settings.rule_files],
        "classification-file": str(log_dir / "classification.config"),
        "reference-config-file": str(log_dir / "reference.config"),
        "outputs": [
            {"eve-log": {
                "enabled": True, "filetype": settings.eve_filetype,
                "filename": str(eve_file),
                "types": [
                    {"alert": {"payload": False, "packet": False, "metadata": True}},
                    # live: per-thread records too, for the counters of each
                    # interface (capture threads are named W#NN-<interface>)
                    {"stats": {"totals": True, "threads": bool(settings.interfaces),
                               "deltas": False}},
                ],
            }},
        ],
        "stats": {"enabled": True, "interval": settings.stats_interval},
        "logging": {
            "default-log-level": "notice",
            "outputs": [
                {"console": {"enabled": True}},
                {"file": {"enabled": True, "level": "info",
                          "filename": str(log_dir / "suricata.log")}},
            ],
        },
        "app-layer": {"protocols": _APP_LAYER},
        "stream": {"memcap": "256mb", "checksum-validation": False,
                   "reassembly": {"memcap": "512mb", "depth": "1mb",
                                  "toserver-chunk-size": 2560,
                                  "toclient-chunk-size": 2560}},
        "detect": {"profile": "medium", "sgh-mpm-context": "auto",
                   "inspection-recursion-limit": 3000},
        "mpm-algo": "auto",
        "spm-algo": "auto",
        "pcre": {"match-limit": 3500, "match-limit-recursion": 1500},
        "host-os-policy": {"linux": ["0.0.0.0/0"]},
        "pcap-file": {"checksum-checks": False},
        # a packet crossing two inspected interfaces is two flows: one alert per endpoint
        "livedev": {"use-for-tracking": True},
        "unix-command": ({"enabled": True, "filename": str(settings.unix_socket)}
                         if settings.unix_socket else {"enabled": False}),
    }
    if settings.interfaces:
        _merge(doc, _live_settings(settings))
    return "%YAML 1.1\n---\n" + yaml.safe_dump(doc, sort_keys=False)


# AF_PACKET ring frames for the whole node, shared out among the interfaces: a node with a
# few busy interfaces gets deep rings (2048 frames = 33 blocks of 128 KiB, 4 MiB each), one
# with 50 quiet pods small ones. Measured with benchmarks/suricata_memory.py, 50 interfaces:
# 512-frame rings took 44 MB of Suricata's 227 MB RSS, 163-frame rings (3 blocks) 12.5 MB.
RING_FRAMES_PER_NODE = 4 * 2048
MIN_RING_FRAMES = 128          # 3 blocks: the fewest that still let one fill while one drains
MANY_INTERFACES = 4


def _live_settings(settings: SuricataSettings) -> dict:
    """AF_PACKET capture (workers, cluster_flow) and what each worker thread preallocates.

    Suricata runs one worker thread per interface, and each thread preallocates its own
    packet pool, TCP sessions and reassembly segments: with many interfaces (pods) those
    per-thread pools, not the rules, are what grows. Suricata allocates past a prealloc on
    demand (up to the memcaps), so small preallocs cost only a malloc under load.
    """
    count = len(settings.interfaces)
    many = count > MANY_INTERFACES
    ring_frames = max(MIN_RING_FRAMES, min(2048, RING_FRAMES_PER_NODE // count))
    live: dict = {
        "af-packet": [
            {"interface": name, "cluster-id": settings.cluster_id_base + i,
             "cluster-type": "cluster_flow",
             "defrag": True, "use-mmap": True, "tpacket-v3": True,
             # a tpacket-v3 block must hold the largest frame: 64 KiB on a veth with MTU
             # 65535 (with 32 KiB blocks Suricata's capture thread fails to start there)
             "ring-size": settings.ring_frames or ring_frames, "block-size": 131072,
             "threads": settings.threads or 1, "checksum-checks": False}
            for i, name in enumerate(settings.interfaces)
        ],
        "runmode": "workers",
        "max-pending-packets": 64 if many else 1024,
        "flow": {"memcap": "64mb", "prealloc": 2000},
        "defrag": {"memcap": "16mb", "trackers": 1000, "prealloc": False},
    }
    if many:
        # Suricata's defaults preallocate 2048 TCP sessions and 2048 reassembly segments
        # per worker thread: 50 interfaces, 40 MB (227 -> 186 MB measured). Host table
        # entries (thresholds, xbits) likewise: 1000 preallocated, here 100.
        live["stream"] = {"prealloc-sessions": 32,
                          "reassembly": {"segment-prealloc": 64}}
        live["host"] = {"hash-size": 1024, "prealloc": 100, "memcap": "16mb"}
    return live


def _merge(base: dict, extra: dict) -> None:
    """Add `extra` into `base`, section by section (live mode adds to `stream`, say)."""
    for key, value in extra.items():
        if isinstance(value, dict) and isinstance(base.get(key), dict):
            _merge(base[key], value)
        else:
            base[key] = value


def write_config(settings: SuricataSettings) -> Path:
    """Write suricata.yaml and the two config files it names into `settings.log_dir`."""
    log_dir = settings.log_dir
    (log_dir / "classification.config").write_text(classification_text())
    (log_dir / "reference.config").write_text("config reference: url http://\n")
    path = log_dir / "suricata.yaml"
    path.write_text(render(settings))
    return path


_DETECTION_PORTS = {
    "tls": {"dp": 443}, "smb": {"dp": "139, 445"},
    "modbus": {"dp": 502}, "dnp3": {"dp": 20000}, "enip": {"dp": 44818, "sp": 44818},
}
_APP_LAYER: dict = {
    name: ({"enabled": True, "detection-ports": _DETECTION_PORTS[name]}
           if name in _DETECTION_PORTS else {"enabled": True})
    for name in ("http", "tls", "smtp", "ftp", "ssh", "smb", "dcerpc", "nfs", "tftp",
                 "krb5", "snmp", "sip", "dhcp", "ntp", "http2", "rdp", "mqtt", "rfb", "ike",
                 "modbus", "dnp3", "enip", "telnet")
}
_APP_LAYER["imap"] = {"enabled": "detection-only"}
_APP_LAYER["dns"] = {"tcp": {"enabled": True, "detection-ports": {"dp": 53}},
                     "udp": {"enabled": True, "detection-ports": {"dp": 53}}}
_APP_LAYER["http"] = {"enabled": True, "libhtp": {"default-config": {
    "personality": "IDS", "request-body-limit": "100kb", "response-body-limit": "100kb",
    "request-body-minimal-inspect-size": "32kb", "request-body-inspect-window": "4kb",
    "response-body-minimal-inspect-size": "40kb", "response-body-inspect-window": "16kb",
    "response-body-decompress-layer-limit": 2, "http-body-inline": "auto",
    "swf-decompression": {"enabled": False},
    "double-decode-path": False, "double-decode-query": False}}}

__all__ = ["SuricataSettings", "render", "write_config", "port_text", "classification_text"]
