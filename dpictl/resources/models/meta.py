"""Object metadata checks shared by every kind: names, namespaces and labels.

The rules are Kubernetes' (DNS-1123 names, qualified label keys) so that what the local
backend accepts, a real API server accepts too, and errors come before anything is created.
"""

from __future__ import annotations

import re
from collections.abc import Mapping
from typing import Any

from dpictl.errors import ManifestError

_DNS_LABEL = re.compile(r"^[a-z0-9]([-a-z0-9]*[a-z0-9])?$")
_DNS_SUBDOMAIN = re.compile(r"^[a-z0-9]([-a-z0-9]*[a-z0-9])?(\.[a-z0-9]([-a-z0-9]*[a-z0-9])?)*$")
_LABEL_NAME = re.compile(r"^([A-Za-z0-9]([-A-Za-z0-9_.]*[A-Za-z0-9])?)?$")


def check_dns_label(value: Any, what: str) -> str:
    """A namespace-style name: lowercase alphanumerics and '-', at most 63 characters."""
    if not isinstance(value, str) or not value or len(value) > 63 or not _DNS_LABEL.match(value):
        raise ManifestError(
            f"invalid {what} {value!r}",
            hint="use at most 63 lowercase letters, digits and '-', starting and ending "
                 "with a letter or digit")
    return value


def check_dns_subdomain(value: Any, what: str) -> str:
    """An object name: lowercase alphanumerics, '-' and '.', at most 253 characters."""
    if (not isinstance(value, str) or not value or len(value) > 253
            or not _DNS_SUBDOMAIN.match(value)):
        raise ManifestError(
            f"invalid {what} {value!r}",
            hint="use lowercase letters, digits, '-' and '.', starting and ending with a "
                 "letter or digit")
    return value


def check_labels(labels: Any, what: str = "metadata.labels") -> dict[str, str]:
    """A label map with Kubernetes-valid keys and values (values must be strings)."""
    if labels is None:
        return {}
    if not isinstance(labels, Mapping):
        raise ManifestError(f"{what} must be a mapping of strings")
    out: dict[str, str] = {}
    for key, value in labels.items():
        _check_label_key(key, what)
        if not isinstance(value, str):
            raise ManifestError(f"{what}[{key!r}] must be a string, not {value!r}",
                                hint="quote label values in YAML, e.g. version: '1'")
        if len(value) > 63 or not _LABEL_NAME.match(value):
            raise ManifestError(f"invalid label value {value!r} for {key!r}",
                                hint="at most 63 letters, digits, '-', '_' and '.'")
        out[key] = value
    return out


def _check_label_key(key: Any, what: str) -> None:
    if not isinstance(key, str) or not key:
        raise ManifestError(f"invalid label key {key!r} in {what}")
    prefix, _, name = key.rpartition("/")
    if prefix:
        check_dns_subdomain(prefix, f"label key prefix in {key!r}")
    if not name or len(name) > 63 or not _LABEL_NAME.match(name):
        raise ManifestError(f"invalid label key {key!r} in {what}",
                            hint="keys are [prefix/]name, name at most 63 letters, digits, "
                                 "'-', '_' and '.'")


def parse_label_list(text: str) -> dict[str, str]:
    """kubectl's `--labels='a=b,c=d'`."""
    labels: dict[str, str] = {}
    for item in filter(None, (part.strip() for part in text.split(","))):
        key, sep, value = item.partition("=")
        if not sep:
            raise ManifestError(f"invalid label {item!r}", hint="use --labels='key=value,...'")
        labels[key.strip()] = value.strip()
    return check_labels(labels, "--labels")


def mapping(value: Any, what: str) -> dict:
    """A mapping field (None -> {}), or a ManifestError naming the field."""
    if value is None:
        return {}
    if not isinstance(value, Mapping):
        raise ManifestError(f"{what} must be a mapping, not {type(value).__name__}")
    return dict(value)


__all__ = ["check_dns_label", "check_dns_subdomain", "check_labels", "parse_label_list",
           "mapping"]
