"""Backends: where workloads live (a local netns cluster, or a real Kubernetes cluster)."""

from __future__ import annotations

from pathlib import Path

from dpictl.backends.base import Backend, ExecResult, WorkloadEndpoint
from dpictl.errors import UsageError

BACKENDS = ("local", "kubernetes")


def check_backend(name: str) -> str:
    """`name` if it names a backend, else the one error every command gives for it."""
    if name not in BACKENDS:
        raise UsageError(f"unknown backend {name!r}", hint="use one of: " + ", ".join(BACKENDS))
    return name


def open_backend(name: str, *, db: Path | None = None, kubeconfig: Path | None = None,
                 context: str | None = None) -> Backend:
    """The composition root for backends: the one place that picks one by name. Callers
    that need more than the Backend (the lab, the agent) dispatch on the opened `.name`."""
    if check_backend(name) == "local":
        from dpictl.backends.local import LocalBackend

        return LocalBackend(db=db)
    from dpictl.backends.kubernetes import KubernetesBackend

    return KubernetesBackend(kubeconfig=kubeconfig, context=context, db=db)


__all__ = ["Backend", "ExecResult", "WorkloadEndpoint", "open_backend", "check_backend", "BACKENDS"]
