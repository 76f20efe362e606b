"""One authenticated connection to an API server: kubeconfig loading, JSON requests, watches.

The official `kubernetes` client does the hard parts (kubeconfig merging, exec/OIDC token
plugins, client certificates, TLS); we use its `ApiClient` as the transport and speak REST
paths ourselves, because dpictl's kinds are mostly custom resources whose API group is only
known after discovery, and one generic path keeps every kind on the same error mapping.
"""

from __future__ import annotations

import json
import os
from pathlib import Path
from typing import Any, Iterator

import urllib3
import yaml
from kubernetes import client as kclient
from kubernetes import config as kconfig
from kubernetes.client.exceptions import ApiException
from kubernetes.config.config_exception import ConfigException

from dpictl.backends.kubernetes.api_errors import Action, describe_transport_error, error_for_status
from dpictl.errors import ClusterError

# (connect, read) seconds: a dead server must fail fast, a slow list must still finish.
DEFAULT_TIMEOUT = (5.0, 60.0)
_NO_CONFIG_HINT = ("pass --kubeconfig FILE or --context NAME, set KUBECONFIG, "
                   "or use --backend local")


def _kubeconfig_paths(kubeconfig: Path | str | None) -> str | None:
    """The kubeconfig list to load (`a:b` like KUBECONFIG), or None when there is none."""
    if kubeconfig is not None:
        text = str(kubeconfig)
        paths = [os.path.expanduser(p) for p in text.split(os.pathsep) if p]
        if not any(os.path.exists(p) for p in paths):
            raise ClusterError(f"kubeconfig {text} does not exist", hint=_NO_CONFIG_HINT)
        return text
    env = os.environ.get("KUBECONFIG", "")
    if env:
        paths = [os.path.expanduser(p) for p in env.split(os.pathsep) if p]
        if any(os.path.exists(p) for p in paths):
            return env
        raise ClusterError(f"KUBECONFIG={env} names no existing file", hint=_NO_CONFIG_HINT)
    default = os.path.expanduser("~/.kube/config")
    return default if os.path.exists(default) else None


def load_api_client(kubeconfig: Path | str | None = None,
                    context: str | None = None) -> kclient.ApiClient:
    """An ApiClient from a kubeconfig (explicit, $KUBECONFIG, ~/.kube/config) or, inside a
    pod, from the service account; a ClusterError saying what to pass when there is none."""
    paths = _kubeconfig_paths(kubeconfig)
    configuration = kclient.Configuration()
    try:
        if paths is not None:
            kconfig.load_kube_config(config_file=paths, context=context,
                                     client_configuration=configuration,
                                     persist_config=False)
        elif os.environ.get("KUBERNETES_SERVICE_HOST") and context is None:
            kconfig.load_incluster_config(client_configuration=configuration)
        else:
            raise ClusterError("no kubeconfig found (KUBECONFIG is unset and ~/.kube/config "
                               "does not exist)", hint=_NO_CONFIG_HINT)
    except ConfigException as exc:
        reason = str(exc).splitlines()[0] if str(exc) else "invalid kubeconfig"
        raise ClusterError(f"cannot use kubeconfig {paths or '(in-cluster)'}: {reason}",
                           hint=_NO_CONFIG_HINT) from None
    except (OSError, ValueError, TypeError, KeyError, AttributeError, yaml.YAMLError) as exc:
        reason = str(exc).splitlines()[0] if str(exc) else type(exc).__name__
        raise ClusterError(f"cannot read kubeconfig {paths}: {reason}", hint=_NO_CONFIG_HINT) from None
    configuration.retries = 1  # a refused connection should fail in well under a second
    return kclient.ApiClient(configuration=configuration)


class Connection:
    """JSON over the API server's REST paths, with every failure mapped to a dpictl error."""

    def __init__(self, api_client: kclient.ApiClient,
                 timeout: tuple[float, float] = DEFAULT_TIMEOUT) -> None:
        self.api_client = api_client
        self.server = api_client.configuration.host
        self.timeout = timeout

    @classmethod
    def from_kubeconfig(cls, kubeconfig: Path | str | None = None,
                        context: str | None = None) -> "Connection":
        return cls(load_api_client(kubeconfig, context))

    def _send(self, method: str, path: str, query: list[tuple[str, Any]] | None,
              body: Any, content_type: str | None, timeout: Any, action: Action | None):
        headers = {"Accept": "application/json"}
        if content_type:
            headers["Content-Type"] = content_type
        try:
            m, url, hdrs, data, _ = self.api_client.param_serialize(
                method, path, query_params=list(query or []), header_params=headers,
                body=body, auth_settings=["BearerToken"])
            response = self.api_client.call_api(m, url, header_params=hdrs, body=data,
                                                _request_timeout=timeout)
        except (urllib3.exceptions.HTTPError, ApiException, OSError) as exc:
            raise ClusterError(f"cannot reach the API server at {self.server}: "
                               f"{describe_transport_error(exc)}",
                               hint="check that the cluster is up and that --kubeconfig/"
                                    "--context point to it") from None
        if response.status >= 400:
            try:
                payload = response.read()
            except urllib3.exceptions.HTTPError:
                payload = b""
            raise error_for_status(response.status, payload, action, self.server)
        return response

    def request(self, method: str, path: str, *, query: list[tuple[str, Any]] | None = None,
                body: Any = None, content_type: str | None = None,
                action: Action | None = None, timeout: Any = None) -> dict:
        """One request; the decoded JSON answer (a dict; {} for an empty body)."""
        if body is not None and content_type is None:
            content_type = "application/json"
        response = self._send(method, path, query, body, content_type,
                              timeout or self.timeout, action)
        try:
            raw = response.read()
        except urllib3.exceptions.HTTPError as exc:
            raise ClusterError(f"the API server at {self.server} dropped the answer: "
                               f"{describe_transport_error(exc)}") from None
        if not raw:
            return {}
        try:
            return json.loads(raw)
        except ValueError:
            raise ClusterError(f"the API server at {self.server} answered {path} with "
                               "something that is not JSON") from None

    def watch(self, path: str, *, query: list[tuple[str, Any]] | None = None,
              timeout_seconds: int = 60, action: Action | None = None) -> Iterator[dict]:
        """Watch events (`{"type", "object"}`) until the server ends the watch.

        Raises api_errors.Expired on a 410 inside the stream, so the caller lists again."""
        q = list(query or []) + [("watch", "true"), ("timeoutSeconds", timeout_seconds),
                                 ("allowWatchBookmarks", "true")]
        response = self._send("GET", path, q, None, None,
                              (self.timeout[0], timeout_seconds + 10), action)
        raw = response.response
        buffer = b""
        try:
            for chunk in raw.stream(4096, decode_content=True):
                buffer += chunk
                while b"\n" in buffer:
                    line, buffer = buffer.split(b"\n", 1)
                    if line.strip():
                        yield self._watch_event(line, action)
        except (urllib3.exceptions.HTTPError, OSError) as exc:
            raise ClusterError(f"watch on {self.server} broke: "
                               f"{describe_transport_error(exc)}") from None
        finally:
            raw.release_conn()

    def _watch_event(self, line: bytes, action: Action | None) -> dict:
        event = json.loads(line)
        if event.get("type") == "ERROR":
            obj = event.get("object") or {}
            raise error_for_status(int(obj.get("code") or 500), json.dumps(obj),
                                   action, self.server)
        return event

    def close(self) -> None:
        self.api_client.close()


__all__ = ["Connection", "load_api_client", "DEFAULT_TIMEOUT"]
