"""The labels Calico adds to every workload endpoint, and how a DPI resource selects.

Selection runs on WEP labels (pod labels plus these implicit ones), and a DPI resource only
ever selects endpoints in its own namespace: `(<spec.selector>) && projectcalico.org/namespace
== '<ns>'`, exactly as Calico's DPI dispatcher builds it.
"""

from __future__ import annotations

from collections.abc import Mapping

from dpictl.resources.models.dpi import DeepPacketInspection
from dpictl.resources.selector import Selector, ast, parse_selector

LABEL_NAMESPACE = "projectcalico.org/namespace"
LABEL_ORCHESTRATOR = "projectcalico.org/orchestrator"
LABEL_SERVICE_ACCOUNT = "projectcalico.org/serviceaccount"
ORCHESTRATOR_K8S = "k8s"
DEFAULT_SERVICE_ACCOUNT = "default"


def workload_labels(namespace: str, pod_labels: Mapping[str, str],
                    service_account: str = DEFAULT_SERVICE_ACCOUNT) -> dict[str, str]:
    """Pod labels plus Calico's implicit WEP labels (the implicit ones win, as in Calico)."""
    labels = dict(pod_labels)
    labels[LABEL_NAMESPACE] = namespace
    labels[LABEL_ORCHESTRATOR] = ORCHESTRATOR_K8S
    if service_account and len(service_account) < 63:
        labels[LABEL_SERVICE_ACCOUNT] = service_account
    return labels


def dpi_selector(dpi: DeepPacketInspection | dict) -> Selector:
    """The effective selector of a DPI resource (a typed model or a manifest dict)."""
    if isinstance(dpi, Mapping):
        dpi = DeepPacketInspection.from_manifest(dict(dpi))
    own = parse_selector(dpi.selector_text)
    scope = ast.LabelEq(LABEL_NAMESPACE, dpi.namespace)
    return Selector(ast.And((own.root, scope)))


__all__ = ["workload_labels", "dpi_selector", "LABEL_NAMESPACE", "LABEL_ORCHESTRATOR",
           "LABEL_SERVICE_ACCOUNT", "ORCHESTRATOR_K8S", "DEFAULT_SERVICE_ACCOUNT"]
