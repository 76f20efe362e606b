"""threshold and detection_filter: per-host alert rate state, driven by packet timestamps.

Follows Suricata's detect-engine-threshold.c (ThresholdHandlePacket): the window opens at
the first match for a (rule, tracked host) and lasts `seconds`; `limit` alerts on the
first `count` matches of a window, `threshold` on every `count`-th, `both` once when the
count is reached, and `detection_filter` on every match after the first `count`. Time is
the packet's, never the wall clock, so a pcap replays the same way every time. The table
is bounded: when it grows past `max_entries`, windows that have expired are dropped.
Tracking is by_src or by_dst (rule keywords), or by_rule / by_both (threshold.config).
"""

from __future__ import annotations

from dpictl.rules.ast import Threshold


class ThresholdTable:
    __slots__ = ("_state", "max_entries")

    def __init__(self, max_entries: int = 100_000) -> None:
        self._state: dict[tuple, list] = {}   # key -> [window_start, count]
        self.max_entries = max_entries

    def allow(self, th: Threshold, key_rule: tuple[int, int], src: str, dst: str,
              ts: float) -> bool:
        """Record one match; True when it should produce an alert."""
        track = th.track
        host = src if track == "by_src" else dst if track == "by_dst" else (
            "" if track == "by_rule" else (src, dst) if src < dst else (dst, src))
        key = (key_rule, th.kind, host)
        entry = self._state.get(key)
        kind = th.kind
        if entry is None or ts - entry[0] > th.seconds:
            if entry is None and len(self._state) >= self.max_entries:
                self._expire(ts)
            entry = self._state[key] = [ts, 0]
        entry[1] += 1
        count = entry[1]
        if kind == "limit":
            return count <= th.count
        if kind == "threshold":
            if count >= th.count:
                entry[1] = 0
                return True
            return False
        if kind == "both":
            return count == th.count
        return count > th.count  # detection_filter

    def _expire(self, now: float) -> None:
        # A generous horizon: no community rule uses a window longer than an hour.
        stale = [k for k, (start, _) in self._state.items() if now - start > 3600]
        for k in stale:
            del self._state[k]
        if len(self._state) >= self.max_entries:
            self._state.clear()


__all__ = ["ThresholdTable"]
