"""threshold.config applied to the engine's detections: suppress, threshold/event_filter and
rate_filter, after the rules matched.

Precedence follows Suricata's global-thresholds document: an entry for one sid replaces the
rule's own `threshold`/`detection_filter` (`strip_overridden` takes those out before the rules
compile); an entry for every rule (`sig_id 0`) leaves rules with their own threshold alone;
suppressions apply on top of everything. A rate_filter switches the rule's action to
`new_action` for `timeout` seconds once more than `count` matches came within `seconds`;
`pass` silences the alerts meanwhile. Time is the packet's, as everywhere in the engine.
"""

from __future__ import annotations

from dataclasses import replace

from dpictl.engine.detect.header import AddressMatcher
from dpictl.engine.detect.thresholds import ThresholdTable
from dpictl.engine.packet import Detection
from dpictl.rules.ast import Rule, Threshold
from dpictl.rules.threshold_config import EventFilter, RateFilter, ThresholdConfig


def _lookup(table: dict, gid: int, sid: int):
    """The most specific entry: gid:sid, then gid:0, then 0:0."""
    hit = table.get((gid, sid))
    if hit is None:
        hit = table.get((gid, 0))
        if hit is None:
            hit = table.get((0, 0))
    return hit


class AlertFilter:
    """Per-engine state (a fork gets its own) over one parsed ThresholdConfig."""

    def __init__(self, config: ThresholdConfig) -> None:
        self.config = config
        self._suppress: dict[tuple[int, int], list[tuple[str | None, AddressMatcher | None]]] = {}
        for s in config.suppress:
            matcher = AddressMatcher(s.ips) if s.ips is not None else None
            self._suppress.setdefault((s.gid, s.sid), []).append((s.track, matcher))
        self._filters: dict[tuple[int, int], EventFilter] = {
            (f.gid, f.sid): f for f in config.filters}
        self._rates: dict[tuple[int, int], RateFilter] = {
            (r.gid, r.sid): r for r in config.rate_filters}
        self._apply_to = {id(r): AddressMatcher(r.apply_to) for r in config.rate_filters
                          if r.apply_to is not None}
        self._table = ThresholdTable()
        self._rate_state: dict[tuple, list[float]] = {}   # key -> [window start, count, until]

    def fork(self) -> AlertFilter:
        return AlertFilter(self.config)

    def strip_overridden(self, rules: list[Rule]) -> list[Rule]:
        """Rules whose gid:sid has its own entry lose their threshold keywords."""
        own = {k for k in self._filters if k[1] != 0}
        if not own:
            return rules
        return [replace(r, options=[o for o in r.options if not isinstance(o, Threshold)])
                if r.key in own else r for r in rules]

    def apply(self, detections: list[Detection]) -> list[Detection]:
        return [d for d in map(self._one, detections) if d is not None]

    def _one(self, det: Detection) -> Detection | None:
        rule = det.rule
        gid, sid = rule.gid, rule.sid
        if self._suppressed(det, gid, sid):
            return None
        entry = self._filters.get((gid, sid))
        if entry is None and not _has_own_threshold(rule):
            entry = _lookup(self._filters, gid, sid)
        if entry is not None and not self._table.allow(entry.threshold, (gid, sid), det.src_ip,
                                                       det.dst_ip, det.ts):
            return None
        rate = _lookup(self._rates, gid, sid)
        if rate is not None and self._rate_exceeded(rate, det):
            if rate.new_action == "pass":
                return None
            return replace(det, rule=replace(rule, action=rate.new_action))
        return det

    def _suppressed(self, det: Detection, gid: int, sid: int) -> bool:
        for key in ((gid, sid), (gid, 0), (0, 0)):
            for track, ips in self._suppress.get(key, ()):
                if ips is None:
                    return True
                if track in ("by_src", "by_either") and ips.match(det.src_ip):
                    return True
                if track in ("by_dst", "by_either") and ips.match(det.dst_ip):
                    return True
        return False

    def _rate_exceeded(self, rate: RateFilter, det: Detection) -> bool:
        track = rate.track
        host = det.src_ip if track == "by_src" else det.dst_ip if track == "by_dst" else (
            "" if track == "by_rule" else tuple(sorted((det.src_ip, det.dst_ip))))
        only = self._apply_to.get(id(rate))
        if only is not None and not (isinstance(host, str) and host and only.match(host)):
            return False
        key = (det.rule.gid, det.rule.sid, host)
        state = self._rate_state.get(key)
        ts = det.ts
        if state is not None and state[2] and ts < state[2]:
            return True                                  # still inside the timeout
        if state is None or ts - state[0] >= rate.seconds:
            state = self._rate_state[key] = [ts, 0, 0.0]
        state[1] += 1
        if state[1] > rate.count:
            state[2] = ts + rate.timeout
            return True
        return False


def _has_own_threshold(rule: Rule) -> bool:
    return any(isinstance(o, Threshold) for o in rule.options)


__all__ = ["AlertFilter"]
