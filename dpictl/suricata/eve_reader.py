"""Suricata's EVE output -> dpictl Detections and stats.

Suricata writes one JSON object per line to a file, a FIFO or a unix socket. Alerts become
the same `Detection` objects dpictl's own engine produces, carrying the dpictl `Rule` the sid
names, so that `dpictl.alerts.builder` turns them into exactly the same Calico-shaped records
(classtype description, priority, rule text, alert_fast line) whichever engine matched.
`stats` records are reduced to the counters dpictl reports (kernel packets and drops, decoder
packets and bytes, ...), named as Suricata names them.
"""

from __future__ import annotations

import json
import os
import select
import time
from datetime import datetime
from pathlib import Path
from typing import IO, Callable, Iterator

from dpictl.engine.packet import Detection
from dpictl.rules.ast import Rule

# Suricata stats counters dpictl passes through (dotted paths in the EVE stats record).
STATS_COUNTERS = (
    "capture.kernel_packets", "capture.kernel_drops", "capture.kernel_ifdrops",
    "decoder.pkts", "decoder.bytes", "decoder.invalid", "detect.alert",
    "flow.memuse", "tcp.reassembly_gap", "app_layer.flow.http",
)


def parse_timestamp(text: str) -> float:
    """EVE's `2023-11-14T22:13:20.000300+0000` -> unix seconds."""
    return datetime.strptime(text, "%Y-%m-%dT%H:%M:%S.%f%z").timestamp()


def detection_from_eve(event: dict, rules: dict[tuple[int, int], Rule]) -> Detection | None:
    """One EVE `alert` record -> Detection; None for other records or unknown sids."""
    if event.get("event_type") != "alert":
        return None
    alert = event.get("alert") or {}
    rule = rules.get((int(alert.get("gid", 1)), int(alert.get("signature_id", 0))))
    if rule is None:
        return None
    direction = alert.get("direction")
    extra = {"suricata": {"flow_id": event.get("flow_id"), "action": alert.get("action")}}
    return Detection(
        ts=parse_timestamp(event["timestamp"]), rule=rule,
        src_ip=event.get("src_ip", ""), src_port=int(event.get("src_port") or 0),
        dst_ip=event.get("dest_ip", ""), dst_port=int(event.get("dest_port") or 0),
        proto=str(event.get("proto", "")), iface=event.get("in_iface"),
        pkt_num=int(event.get("pcap_cnt") or 0), app_proto=event.get("app_proto"),
        to_server=None if direction is None else direction == "to_server",
        flow_id=int(event.get("flow_id") or 0), extra=extra,
    )


def stats_from_eve(event: dict) -> dict[str, int] | None:
    """The counters of one EVE `stats` record (`STATS_COUNTERS`), None for other records."""
    if event.get("event_type") != "stats":
        return None
    stats = event.get("stats") or {}
    out: dict[str, int] = {"uptime": int(stats.get("uptime", 0))}
    for path in STATS_COUNTERS:
        node: object = stats
        for part in path.split("."):
            node = node.get(part) if isinstance(node, dict) else None
        if isinstance(node, int):
            out[path] = node
    return out


def parse_lines(lines: Iterator[str]) -> Iterator[dict]:
    for line in lines:
        line = line.strip()
        if not line:
            continue
        try:
            yield json.loads(line)
        except json.JSONDecodeError:
            continue              # a line cut short by a dying Suricata


def read_file(path: Path) -> Iterator[dict]:
    """Every record of a finished EVE file (pcap runs)."""
    if not path.exists():
        return
    with path.open(encoding="utf-8", errors="replace") as fh:
        yield from parse_lines(fh)


def make_fifo(path: Path) -> Path:
    """A FIFO for Suricata's EVE output (`filetype: regular` writes to it as to a file)."""
    if path.exists():
        path.unlink()
    os.mkfifo(path, 0o600)
    return path


class EveFollower:
    """Reads EVE records from a FIFO while Suricata runs, without blocking forever.

    The FIFO is opened non-blocking for reading first, so opening never waits for
    Suricata (which may take seconds to load rules); `poll()` returns what has arrived.
    """

    def __init__(self, path: Path) -> None:
        self.path = path
        fd = os.open(path, os.O_RDONLY | os.O_NONBLOCK)
        self._file: IO[bytes] = os.fdopen(fd, "rb", buffering=0)
        self._partial = b""

    def fileno(self) -> int:
        return self._file.fileno()

    def poll(self, timeout: float = 0.5) -> list[dict]:
        ready, _, _ = select.select([self._file], [], [], timeout)
        if not ready:
            return []
        chunks = []
        while True:
            try:
                data = os.read(self._file.fileno(), 1 << 16)
            except BlockingIOError:
                break
            if not data:
                if not chunks:
                    time.sleep(min(timeout, 0.05))   # no writer yet (or it went away)
                break
            chunks.append(data)
        if not chunks:
            return []
        data = self._partial + b"".join(chunks)
        lines = data.split(b"\n")
        self._partial = lines.pop()
        return list(parse_lines(ln.decode("utf-8", "replace") for ln in lines))

    def close(self) -> None:
        self._file.close()


def follow(follower: EveFollower, keep_going: Callable[[], bool],
           timeout: float = 0.5) -> Iterator[dict]:
    """Yield EVE records until `keep_going()` is false and nothing more is waiting."""
    for batch in follow_batches(follower, keep_going, timeout):
        yield from batch


def follow_batches(follower: EveFollower, keep_going: Callable[[], bool],
                   timeout: float = 0.5) -> Iterator[list[dict]]:
    """`follow`, one list per read: everything that had arrived, so that a live reader can
    store a burst of alerts in one transaction. (Suricata blocks writing a full FIFO, and a
    blocked Suricata drops packets: the reader must keep up.)"""
    while True:
        records = follower.poll(timeout)
        if records:
            yield records
        elif not keep_going():
            last = follower.poll(0)
            if last:
                yield last
            return


__all__ = ["STATS_COUNTERS", "detection_from_eve", "stats_from_eve", "parse_timestamp",
           "read_file", "make_fifo", "EveFollower", "follow", "follow_batches"]
