"""DPI alerts as Kubernetes Events on the pod that saw them, and back again.

Calico sends DPI alerts to its own log store (Linseed/Elasticsearch). A plain cluster has no
such store, but every cluster has Events: `kubectl get events` and `kubectl describe pod`
show them, RBAC already covers them, and the API server expires them (1 h by default). So
the dpictl agent writes one Warning Event with reason `DPIAlert` per alert, attached to the
endpoint's pod; the message is what a human needs (signature, src -> dst) and two
annotations carry the rest: the Calico DPI event record (for other tools) and the full Alert
(so `dpictl alerts list --backend kubernetes` reads back exactly what was raised).
"""

from __future__ import annotations

import hashlib
import json
from dataclasses import replace
from datetime import datetime, timezone
from pathlib import Path
from typing import Iterable

from dpictl.alerts import Alert, calico_event_id, to_calico
from dpictl.backends.kubernetes.api_errors import Conflict
from dpictl.errors import NotFound, PermissionDenied

REASON = "DPIAlert"
COMPONENT = "dpictl-agent"
ANNOTATION_ALERT = "dpictl.io/alert"
ANNOTATION_CALICO = "dpictl.io/calico-event"
# The API server refuses an object whose annotations (keys and values) pass 256 KiB
# (apimachinery's TotalAnnotationSizeLimitB). With the defaults an alert fits easily: its
# packet is at most 64 KiB (87 KiB in base64) and its flow's kept packets 8 x 2 KiB (22 KiB).
# A larger --packet-bytes could pass it: then the kept packets go first, then the packet.
ANNOTATIONS_LIMIT = 256 * 1024


def _stamp(ts: float) -> str:
    return datetime.fromtimestamp(ts, tz=timezone.utc).strftime("%Y-%m-%dT%H:%M:%SZ")


def event_message(alert: Alert) -> str:
    """`<signature> [gid:sid:rev] {PROTO} src:port -> dst:port` (ports omitted for ICMP)."""
    def side(ip: str, port: int) -> str:
        return f"{ip}:{port}" if port else ip
    return (f"{alert.signature} [{alert.gid}:{alert.sid}:{alert.rev}] {{{alert.proto}}} "
            f"{side(alert.source_ip, alert.source_port)} -> "
            f"{side(alert.dest_ip, alert.dest_port)}")


def _involved(alert: Alert) -> dict:
    if alert.endpoint is not None:
        return {"apiVersion": "v1", "kind": "Pod", "namespace": alert.endpoint.namespace,
                "name": alert.endpoint.name}
    ns, _, name = alert.origin.removeprefix("dpi.").partition("/")
    return {"apiVersion": "projectcalico.org/v3", "kind": "DeepPacketInspection",
            "namespace": ns or "default", "name": name or alert.origin}


def alert_to_event(alert: Alert) -> dict:
    """The core/v1 Event manifest for one alert (its name is a hash: re-sending is a no-op)."""
    involved = _involved(alert)
    iface = alert.endpoint.interface if alert.endpoint else ""
    digest = hashlib.sha1(f"{calico_event_id(alert)}|{alert.sid}|{iface}".encode()).hexdigest()
    calico = json.dumps(to_calico(alert), sort_keys=True, default=str)
    annotations = {}
    for trimmed in (alert, replace(alert, context=()), replace(alert, context=(), packet=b"")):
        # to_dict: JSON-ready (the packets as base64)
        alert_json = {k: v for k, v in trimmed.to_dict().items() if k != "id"}
        annotations = {ANNOTATION_ALERT: json.dumps(alert_json, sort_keys=True, default=str),
                       ANNOTATION_CALICO: calico}
        if sum(len(k) + len(v.encode()) for k, v in annotations.items()) <= ANNOTATIONS_LIMIT:
            break
    return {
        "apiVersion": "v1", "kind": "Event",
        "metadata": {
            "name": f"{involved['name']}.dpi-{digest[:16]}",
            "namespace": involved["namespace"],
            "labels": {"app.kubernetes.io/managed-by": "dpictl"},
            "annotations": annotations,
        },
        "involvedObject": involved,
        "reason": REASON,
        "type": "Warning",
        "message": event_message(alert),
        "source": {"component": COMPONENT, "host": alert.host},
        "reportingComponent": COMPONENT,
        "reportingInstance": alert.host or COMPONENT,
        "firstTimestamp": _stamp(alert.time),
        "lastTimestamp": _stamp(alert.time),
        "count": 1,
    }


def alert_from_event(event: dict) -> Alert | None:
    """The Alert an agent Event carries; None for Events that are not dpictl's."""
    annotations = (event.get("metadata") or {}).get("annotations") or {}
    raw = annotations.get(ANNOTATION_ALERT)
    if event.get("reason") != REASON or not raw:
        return None
    try:
        data = json.loads(raw)
    except ValueError:
        return None
    try:
        return Alert.from_dict(data)
    except (TypeError, ValueError):     # ValueError: a damaged base64 packet
        return None


def publish_alerts(backend, alerts: Iterable[Alert]) -> int:
    """Create one Event per alert; returns how many were new (an existing name is skipped)."""
    ref = backend.ref("Event")
    created = 0
    for alert in alerts:
        try:
            backend.objects.create(ref, alert_to_event(alert))
            created += 1
        except Conflict:
            pass                    # already written (a retried batch)
        except NotFound:
            pass                    # the namespace is gone with its pod: nothing to attach to
    return created


def _touches(alert: Alert, namespace: str) -> bool:
    ep = alert.endpoint
    return namespace in (alert.source_namespace, alert.dest_namespace,
                         ep.namespace if ep else None)


def read_alerts(backend, namespace: str | None = None,
                since: float | None = None) -> list[Alert]:
    """Alerts from DPIAlert Events, oldest first. With `namespace`, the alerts whose source,
    destination or endpoint is in it (red1 -> blue1 is on red1's Event but concerns blue);
    without cluster-wide list rights, those of the Events in that namespace."""
    ref = backend.ref("Event")
    selector = f"reason={REASON}"
    try:
        events = backend.objects.list(ref, None, field_selector=selector)
    except PermissionDenied:
        if namespace is None:
            raise
        events = backend.objects.list(ref, namespace, field_selector=selector)
    alerts = [a for a in map(alert_from_event, events) if a is not None]
    if namespace is not None:
        alerts = [a for a in alerts if _touches(a, namespace)]
    if since is not None:
        alerts = [a for a in alerts if a.time >= since]
    return sorted(alerts, key=lambda a: (a.time, a.sid, a.source_ip))


def list_alerts(kubeconfig: Path | str | None = None, context: str | None = None,
                namespace: str | None = None, since: float | None = None) -> list[Alert]:
    """What `dpictl alerts list --backend kubernetes` shows: the agent's DPIAlert Events."""
    from dpictl.backends.kubernetes.backend import KubernetesBackend

    backend = KubernetesBackend(kubeconfig=kubeconfig, context=context)
    try:
        return read_alerts(backend, namespace, since)
    finally:
        backend.close()


__all__ = ["REASON", "alert_to_event", "alert_from_event", "publish_alerts", "read_alerts",
           "list_alerts", "event_message"]
