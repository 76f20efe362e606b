"""The local backend: a one-node netns "cluster" laid out as Calico lays out pods."""

from __future__ import annotations

from dpictl.backends.local.backend import LocalBackend
from dpictl.backends.local.naming import host_interface_name

__all__ = ["LocalBackend", "host_interface_name"]
