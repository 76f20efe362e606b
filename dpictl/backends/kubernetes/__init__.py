"""The kubernetes backend: dpictl's Backend operations on a real cluster via the official client."""

from dpictl.backends.kubernetes.backend import KubernetesBackend

__all__ = ["KubernetesBackend"]
