"""The Snort 3 `alert_fast` line, as Calico keeps it in an event's `record.snort_alert`.

Calico runs Snort with `-y` (year in timestamps) and `alert_fast`, tails the file and stores
each raw line; its parser takes the sid/rev from `[gid:sid:rev]` and the addresses from the
last three tokens. Writing the same line keeps dpictl's records readable by anything that
reads Calico's. Times are written in UTC (Snort writes local time; Calico's pods run in UTC).
"""

from __future__ import annotations

from datetime import datetime, timezone

# Protocols whose alert_fast line carries no ports (Snort prints `src -> dst` for them).
PORTLESS_PROTOS = frozenset({"ICMP", "IPV6-ICMP", "ICMPV6", "IP"})


def fast_timestamp(ts: float) -> str:
    """`yy/mm/dd-HH:MM:SS.usec` (Snort's `-y` layout)."""
    dt = datetime.fromtimestamp(ts, tz=timezone.utc)
    return dt.strftime("%y/%m/%d-%H:%M:%S.%f")


def _endpoint(ip: str, port: int, with_port: bool) -> str:
    return f"{ip}:{port}" if with_port else ip


def format_alert_fast(ts: float, gid: int, sid: int, rev: int, msg: str, category: str,
                      priority: int, proto: str, src_ip: str, src_port: int, dst_ip: str,
                      dst_port: int) -> str:
    """One alert_fast line. The classification part is left out when there is no
    classtype, as Snort does; ICMP (and other portless protocols) lose their ports."""
    with_port = proto.upper() not in PORTLESS_PROTOS
    parts = [fast_timestamp(ts), "[**]", f"[{gid}:{sid}:{rev}]", f'"{msg}"', "[**]"]
    if category:
        parts.append(f"[Classification: {category}]")
    parts.append(f"[Priority: {priority}]")
    parts.append(f"{{{proto}}}")
    parts.append(_endpoint(src_ip, src_port, with_port))
    parts.append("->")
    parts.append(_endpoint(dst_ip, dst_port, with_port))
    return " ".join(parts)


__all__ = ["format_alert_fast", "fast_timestamp", "PORTLESS_PROTOS"]
