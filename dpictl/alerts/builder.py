"""Detection -> Alert: where an engine match gets its classification, names and alert line.

The engine only knows rules and packets. Everything an operator wants to read next to a match
(what kind of attack the classtype says it is, which pods the addresses belong to, which
endpoint's interface saw it) is added here, once, so every sink shows the same record.
"""

from __future__ import annotations

from typing import TYPE_CHECKING, Any, Callable, Mapping

from dpictl.alerts.alert_fast import format_alert_fast
from dpictl.alerts.record import Alert, Endpoint, KeptPacket

if TYPE_CHECKING:
    from dpictl.engine.packet import Detection

# Snort's priority for a rule with neither `priority:` nor a known classtype.
DEFAULT_PRIORITY = 3
# The triggering packet kept with each alert is cut at this many bytes (Suricata's EVE
# `packet` is likewise one packet): a jumbo frame must not make the store grow by 64 KiB
# per alert unless asked for.
PACKET_LIMIT = 64 * 1024

NameLookup = Callable[[str], "tuple[str, str]"]


def _entry_fields(entry: Any) -> tuple[str, int | None]:
    """(description, priority) from whatever shape a classification entry has: an object
    with .description/.priority, a (name, description, priority) or (description, priority)
    tuple, or a dict."""
    if entry is None:
        return "", None
    if isinstance(entry, Mapping):
        return str(entry.get("description", "")), entry.get("priority")
    if isinstance(entry, tuple):
        if len(entry) == 3:
            return str(entry[1]), int(entry[2])
        if len(entry) == 2:
            return str(entry[0]), int(entry[1])
        return "", None
    desc = getattr(entry, "description", "")
    prio = getattr(entry, "priority", None)
    return str(desc or ""), (int(prio) if prio is not None else None)


def _builtin_classifications() -> Any:
    """The rules package's standard classtype table (`lookup(name) -> (description,
    priority)`); imported lazily so a build without it still raises alerts."""
    try:
        from dpictl.rules.classifications import lookup
    except ImportError:
        return None
    return lookup


def classify(classtype: str | None, classifications: Any = None) -> tuple[str, int | None]:
    """(category description, default priority) of a classtype; ("", None) when unknown.

    `classifications` may be a mapping classtype -> entry or a callable classtype -> entry;
    when None the rules package's built-in table is used.
    """
    if not classtype:
        return "", None
    table = classifications if classifications is not None else _builtin_classifications()
    if table is None:
        return "", None
    try:
        entry = table(classtype) if callable(table) else table.get(classtype)
    except (KeyError, LookupError):
        entry = None
    return _entry_fields(entry)


def alert_from_detection(det: "Detection", classifications: Any = None, *,
                         origin: str = "inspect", host: str = "",
                         endpoint: Endpoint | None = None,
                         names: NameLookup | None = None,
                         packet_limit: int = PACKET_LIMIT) -> Alert:
    """Build the stored/shown Alert for one engine Detection.

    `names(ip) -> (name, namespace)` attributes addresses to workloads, as Calico does from
    its WEP cache (("", "") for an address that is no pod). `endpoint` is the workload whose
    interface saw the packet (None for pcaps).
    """
    rule = det.rule
    category, class_priority = classify(rule.classtype, classifications)
    if not category and rule.classtype:
        category = rule.classtype
    if rule.priority is not None:
        priority = int(rule.priority)
    elif class_priority is not None:
        priority = class_priority
    else:
        priority = DEFAULT_PRIORITY
    src_name, src_ns = names(det.src_ip) if names else ("", "")
    dst_name, dst_ns = names(det.dst_ip) if names else ("", "")
    extra = dict(det.extra)
    if det.flow_id:
        extra.setdefault("flow_id", det.flow_id)
    if det.iface:
        extra.setdefault("in_iface", det.iface)
    if det.to_server is not None:
        extra.setdefault("direction", "to_server" if det.to_server else "to_client")
    line = format_alert_fast(det.ts, rule.gid, rule.sid, rule.rev, rule.msg, category, priority,
                             det.proto, det.src_ip, det.src_port, det.dst_ip, det.dst_port)
    return Alert(
        time=det.ts, source_ip=det.src_ip, source_port=det.src_port, dest_ip=det.dst_ip,
        dest_port=det.dst_port, proto=det.proto, gid=rule.gid, sid=rule.sid, rev=rule.rev,
        signature=rule.msg, category=category, priority=priority, origin=origin, host=host,
        source_name=src_name, source_namespace=src_ns, dest_name=dst_name,
        dest_namespace=dst_ns, endpoint=endpoint, app_proto=det.app_proto,
        pkt_num=det.pkt_num, rule_text=rule.text, snort_alert=line, extra=extra,
        packet=det.frame[:max(0, packet_limit)], linktype=det.linktype,
        context=tuple(KeptPacket(ts, data, lt) for ts, data, lt in det.context),
    )


__all__ = ["alert_from_detection", "classify", "DEFAULT_PRIORITY", "PACKET_LIMIT", "NameLookup"]
