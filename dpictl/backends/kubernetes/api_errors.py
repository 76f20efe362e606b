"""Turn an API server's refusal into one dpictl error that says what to do about it.

The API server answers failures with a `Status` object; kubectl prints its message and little
else. We know more than the server's message does at the call site (which verb, resource, API
group and namespace we asked for), so a 403 names the exact RBAC rule that is missing and a 404
on a collection says which CRD the cluster lacks.
"""

from __future__ import annotations

import json
import re
from dataclasses import dataclass

from dpictl.errors import ClusterError, DpictlError, ManifestError, NotFound, PermissionDenied


class Conflict(ClusterError):
    """409: the object changed since it was read (retry with a fresh read) or already exists."""


class Unsupported(ClusterError):
    """415: the server does not take this patch type (server-side apply on an old API)."""


class Expired(ClusterError):
    """410: a watch's resourceVersion is too old; list again and restart the watch."""


@dataclass(frozen=True, slots=True)
class Action:
    """What a request asked for, in RBAC's words, so errors can name the missing permission."""

    verb: str                       # get, list, watch, create, update, patch, delete
    resource: str                   # plural, with "/status" or "/exec" for subresources
    group: str = ""                 # "" is the core group
    namespace: str | None = None
    name: str | None = None

    @property
    def qualified(self) -> str:
        """`deeppacketinspections.crd.projectcalico.org`, or `pods` for the core group."""
        return f"{self.resource}.{self.group}" if self.group else self.resource

    @property
    def scope(self) -> str:
        return f" in namespace {self.namespace}" if self.namespace else ""

    def describe(self) -> str:
        named = f" {self.name!r}" if self.name else ""
        return f"{self.qualified}{named}{self.scope}"


def status_message(body: bytes | str | None) -> tuple[str, dict]:
    """The `message` of a Status body (and the parsed Status), tolerating non-JSON bodies."""
    if not body:
        return "", {}
    text = body.decode("utf-8", "replace") if isinstance(body, bytes) else body
    try:
        status = json.loads(text)
    except ValueError:
        return text.strip().splitlines()[0] if text.strip() else "", {}
    if not isinstance(status, dict):
        return text.strip(), {}
    return str(status.get("message", "")).strip(), status


def _user_from(message: str) -> str:
    m = re.search(r'User "([^"]+)"', message)
    return m.group(1) if m else ""


def _invalid_detail(status: dict, fallback: str) -> str:
    causes = (status.get("details") or {}).get("causes") or []
    parts = [f"{c.get('field', '')}: {c.get('message', '')}".strip(": ") for c in causes]
    return "; ".join(p for p in parts if p) or fallback


def error_for_status(code: int, body: bytes | str | None, action: Action | None,
                     server: str) -> DpictlError:
    """The dpictl error for an HTTP error `code` answered to `action` by `server`."""
    message, status = status_message(body)
    what = action.describe() if action else "the request"
    if code == 401:
        return ClusterError(
            f"the API server at {server} rejected the credentials (401 Unauthorized)",
            hint="the token or client certificate in the kubeconfig is missing, wrong or "
                 "expired; log in to the cluster again")
    if code == 403:
        return _forbidden(action, message)
    if code == 404:
        if action and action.name:
            kind = action.resource.split("/")[0]
            return NotFound(f'{kind} "{action.name}" not found{action.scope}')
        return NotFound(f"the API server does not serve {what}",
                        hint="the CustomResourceDefinition is probably not installed")
    if code == 409:
        return Conflict(f"conflict on {what}: {message or 'changed since read'}")
    if code == 410:
        return Expired(f"watch of {what} expired: {message}")
    if code == 415:
        return Unsupported(f"the API server at {server} does not support this request on "
                           f"{what}: {message or 'unsupported media type'}")
    if code in (400, 422):
        return ManifestError(f"the API server refused {what}: "
                             f"{_invalid_detail(status, message or 'invalid')}")
    return ClusterError(f"the API server at {server} failed on {what}: "
                        f"{code} {message or 'no message'}")


def _forbidden(action: Action | None, message: str) -> PermissionDenied:
    user = _user_from(message)
    as_user = f" as user {user!r}" if user else ""
    if action is None:
        return PermissionDenied(f"forbidden{as_user}: {message}")
    group = action.group or '"" (core)'
    where = (f"namespace {action.namespace}" if action.namespace else "cluster scope")
    return PermissionDenied(
        f"forbidden{as_user}: cannot {action.verb} {action.qualified}{action.scope}",
        hint=f"RBAC must grant verb {action.verb!r} on resource {action.resource!r} in API "
             f"group {group} ({where}); ask a cluster admin for a Role/ClusterRole binding")


def describe_transport_error(exc: BaseException) -> str:
    """A short reason for a connection failure (refused, DNS, TLS, timeout), not a repr chain."""
    text = str(exc)
    for pattern, reason in (
        (r"Connection refused", "connection refused"),
        (r"Name or service not known|nodename nor servname|Temporary failure in name",
         "host name not found"),
        (r"CERTIFICATE_VERIFY_FAILED|certificate verify failed", "TLS certificate not trusted"),
        (r"timed out|Timeout", "timed out"),
        (r"No route to host", "no route to host"),
        (r"Network is unreachable", "network unreachable"),
    ):
        if re.search(pattern, text):
            return reason
    return text.splitlines()[0][:200] if text else type(exc).__name__


__all__ = ["Action", "Conflict", "Expired", "Unsupported", "error_for_status", "status_message",
           "describe_transport_error"]
