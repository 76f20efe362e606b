"""`exec` in a pod through the API server's exec subresource (WebSocket, channel protocol).

The client's `kubernetes.stream` speaks the v5/v4 channel protocols: channel 1 is stdout,
2 stderr, and 3 the error channel, which carries a Status at the end: `Success`, or
`NonZeroExitCode` with the exit code in `details.causes[reason=ExitCode]` - that is where the
command's exit code comes from, as kubectl reads it.
"""

from __future__ import annotations

import ast
import json
import re
import time

from kubernetes import client as kclient
from kubernetes.client.exceptions import ApiException
from kubernetes.stream import stream

from dpictl.backends.base import ExecResult
from dpictl.backends.kubernetes.api_errors import Action, error_for_status
from dpictl.errors import ClusterError

STDOUT, STDERR, ERROR = 1, 2, 3


def exit_code_from_status(text: str) -> int | None:
    """The command's exit code from the error channel's Status; None if it never ran."""
    if not text.strip():
        return None
    status = json.loads(text)
    if status.get("status") == "Success":
        return 0
    for cause in (status.get("details") or {}).get("causes") or []:
        if cause.get("reason") == "ExitCode":
            return int(cause.get("message"))
    return None


def _handshake_error(exc: ApiException, action: Action, server: str) -> Exception:
    """The API server refused the upgrade (no node, RBAC, missing pod): map its HTTP status."""
    text = str(exc.reason or exc)
    m = re.search(r"Handshake status (\d{3})", text)
    if not m:
        return ClusterError(f"exec in {action.namespace}/{action.name} failed: "
                            f"{text.splitlines()[0] if text else 'connection failed'}")
    # websocket-client formats it "Handshake status N R -+-+- {headers} -+-+- body"
    body = text.split(" -+-+- ")[-1] if " -+-+- " in text else None
    if body and body[:2] in ("b'", 'b"'):
        try:
            body = ast.literal_eval(body).decode("utf-8", "replace")
        except (ValueError, SyntaxError):
            pass
    code = int(m.group(1))
    err = error_for_status(code, body, action, server)
    if code in (400, 500):    # "pod does not have a host assigned", container not running
        return ClusterError(f"cannot exec in pod {action.namespace}/{action.name}: "
                            f"{err.message.split(': ', 1)[-1]}")
    return err


def exec_in_pod(api_client: kclient.ApiClient, namespace: str, pod: str, argv: list[str],
                stdin: bytes | None = None, timeout: float = 60.0,
                container: str | None = None) -> ExecResult:
    """Run argv in the pod's (first) container; stdout, stderr and the exit code."""
    action = Action("create", "pods/exec", "", namespace, pod)
    core = kclient.CoreV1Api(api_client)
    kwargs = dict(command=list(argv), stderr=True, stdout=True, stdin=stdin is not None,
                  tty=False, _preload_content=False, binary=True)
    if container:
        kwargs["container"] = container
    try:
        ws = stream(core.connect_get_namespaced_pod_exec, pod, namespace, **kwargs)
    except ApiException as exc:
        raise _handshake_error(exc, action, api_client.configuration.host) from None
    out, err = bytearray(), bytearray()
    try:
        if stdin is not None:
            ws.write_stdin(stdin)
            ws.close_channel(0)          # v5 only; under v4 the command sees no EOF
        deadline = time.monotonic() + timeout
        while ws.is_open():
            remaining = deadline - time.monotonic()
            if remaining <= 0:
                raise ClusterError(f"exec in {namespace}/{pod} did not finish within "
                                   f"{timeout:g}s: {' '.join(argv)}")
            ws.update(timeout=min(remaining, 1.0))
            out += _take(ws, STDOUT)
            err += _take(ws, STDERR)
        out += _take(ws, STDOUT)
        err += _take(ws, STDERR)
        status_text = _take(ws, ERROR).decode("utf-8", "replace")
    finally:
        ws.close()
    code = exit_code_from_status(status_text)
    if code is None:
        message = (json.loads(status_text).get("message") if status_text.strip()
                   else "the connection closed without an exit status")
        raise ClusterError(f"exec in {namespace}/{pod} failed: {message}")
    return ExecResult(stdout=bytes(out), stderr=bytes(err), returncode=code)


def _take(ws, channel: int) -> bytes:
    data = ws.read_channel(channel, timeout=0)
    return data.encode() if isinstance(data, str) else bytes(data)


__all__ = ["exec_in_pod", "exit_code_from_status"]
