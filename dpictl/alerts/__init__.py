"""Alerts: the record, how a detection becomes one, where they are stored and how they are written."""

from dpictl.alerts.builder import alert_from_detection, classify
from dpictl.alerts.calico_event import calico_event_id, to_calico
from dpictl.alerts.eve import eve_line, to_eve
from dpictl.alerts.record import Alert, Endpoint
from dpictl.alerts.store import AlertStore

__all__ = [
    "Alert", "Endpoint", "AlertStore", "alert_from_detection", "classify", "to_eve", "eve_line",
    "to_calico", "calico_event_id",
]
