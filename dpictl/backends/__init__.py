"""Backends: where workloads live (a local netns cluster, or a real Kubernetes cluster)."""

from __future__ import annotations

from pathlib import Path

from dpictl.backends.base import Backend, ExecResult, WorkloadEndpoint
from dpictl.errors import UsageError

BACKENDS = ("local", "kubernetes")


def open_backend(name: str, *, db: Path | None = None, kubeconfig: Path | None = None,
                 context: str | None = None) -> Backend:
    """The composition root for backends: the one place that knows both."""
    if name == "local":
        from dpictl.backends.local import LocalBackend

        return LocalBackend(db=db)
    if name == "kubernetes":
        from dpictl.backends.kubernetes import KubernetesBackend

        return KubernetesBackend(kubeconfig=kubeconfig, context=context, db=db)
    raise UsageError(f"unknown backend {name!r}", hint="use one of: " + ", ".join(BACKENDS))


__all__ = ["Backend", "ExecResult", "WorkloadEndpoint", "open_backend", "BACKENDS"]
