"""Pods as the lab and the DPI agent see them: what to create, when they run, which are WEPs.

A pod is a Calico workload endpoint when it has an IP and does not share the host's network;
its host-side interface is named by Calico's rule (`cali` + 11 hex digits of
sha1("<namespace>.<pod>")), which is what DPI captures on.
"""

from __future__ import annotations

import hashlib
import time
from typing import Callable, Iterable

from dpictl.backends.base import Progress, WorkloadEndpoint
from dpictl.errors import ClusterError
from dpictl.resources.labels import DEFAULT_SERVICE_ACCOUNT, workload_labels

DEFAULT_IMAGE = "wbitt/network-multitool"
INTERFACE_PREFIX = "cali"
MANAGED_BY = {"app.kubernetes.io/managed-by": "dpictl"}


def calico_interface(namespace: str, pod: str, prefix: str = INTERFACE_PREFIX) -> str:
    """Calico's host-side veth name for a pod (libcalico-go's VethNameForWorkload)."""
    digest = hashlib.sha1(f"{namespace}.{pod}".encode()).hexdigest()
    return prefix + digest[:11]


def pod_manifest(namespace: str, name: str, image: str | None,
                 labels: dict[str, str]) -> dict:
    """What `kubectl run NAME --image IMAGE --labels ...` creates (one container, same name)."""
    return {
        "apiVersion": "v1", "kind": "Pod",
        "metadata": {"name": name, "namespace": namespace,
                     "labels": dict(labels), "annotations": {}},
        "spec": {"containers": [{"name": name, "image": image or DEFAULT_IMAGE}],
                 "restartPolicy": "Always"},
    }


def endpoint_from_pod(pod: dict, prefix: str = INTERFACE_PREFIX) -> WorkloadEndpoint | None:
    """The WEP of a Running pod with an IP; None for host-network or not-yet-running pods."""
    meta = pod.get("metadata") or {}
    spec = pod.get("spec") or {}
    status = pod.get("status") or {}
    ip = status.get("podIP")
    if status.get("phase") != "Running" or not ip or spec.get("hostNetwork"):
        return None
    if meta.get("deletionTimestamp"):
        return None
    namespace, name = meta.get("namespace", "default"), meta["name"]
    labels = workload_labels(namespace, meta.get("labels") or {},
                             spec.get("serviceAccountName") or DEFAULT_SERVICE_ACCOUNT)
    return WorkloadEndpoint(namespace=namespace, name=name, ip=ip,
                            node=spec.get("nodeName") or "",
                            interface=calico_interface(namespace, name, prefix),
                            labels=labels)


def _why_not_running(pod: dict | None) -> str:
    """The most useful reason a pod is not Running (image pull, scheduling, phase)."""
    if pod is None:
        return "missing"
    status = pod.get("status") or {}
    for cs in status.get("containerStatuses") or []:
        waiting = (cs.get("state") or {}).get("waiting") or {}
        if waiting.get("reason"):
            return waiting["reason"]
    for cond in status.get("conditions") or []:
        if cond.get("type") == "PodScheduled" and cond.get("status") == "False":
            return cond.get("reason") or "Unschedulable"
    if not (pod.get("spec") or {}).get("nodeName"):
        return f"{status.get('phase') or 'Pending'}, not scheduled to a node"
    return status.get("phase") or "Pending"


def wait_running(list_pods: Callable[[], list[dict]], namespace: str, names: Iterable[str],
                 timeout: float, progress: Progress | None = None, interval: float = 0.5,
                 clock: Callable[[], float] = time.monotonic,
                 sleep: Callable[[float], None] = time.sleep) -> None:
    """Poll until every named pod is Running with an IP, or a ClusterError naming why not."""
    wanted = sorted(set(names))
    deadline = clock() + timeout
    last_done = -1
    while True:
        pods = {p["metadata"]["name"]: p for p in list_pods()}
        running = [n for n in wanted if endpoint_ready(pods.get(n))]
        if progress and len(running) != last_done:
            progress(len(running), len(wanted),
                     f"{len(running)}/{len(wanted)} pods running in {namespace}")
            last_done = len(running)
        failed = [n for n in wanted if (pods.get(n) or {}).get("status", {}).get("phase")
                  in ("Failed", "Succeeded")]
        if failed:
            raise ClusterError(f"pod {namespace}/{failed[0]} stopped "
                               f"({pods[failed[0]]['status']['phase']}) instead of running")
        if len(running) == len(wanted):
            return
        if clock() >= deadline:
            late = [n for n in wanted if n not in running]
            reasons = ", ".join(f"{n} ({_why_not_running(pods.get(n))})" for n in late)
            raise ClusterError(f"pods not Running after {timeout:g}s in namespace "
                               f"{namespace}: {reasons}",
                               hint=f"see `kubectl describe pod -n {namespace}`, or raise "
                                    "the timeout")
        sleep(min(interval, max(deadline - clock(), 0.01)))


def endpoint_ready(pod: dict | None) -> bool:
    status = (pod or {}).get("status") or {}
    return status.get("phase") == "Running" and bool(status.get("podIP"))


__all__ = ["DEFAULT_IMAGE", "calico_interface", "pod_manifest", "endpoint_from_pod",
           "wait_running", "endpoint_ready", "MANAGED_BY"]
