"""What every backend offers: the lab's operations on Kubernetes-shaped objects.

Objects cross this boundary as plain manifest dicts (`apiVersion`, `kind`, `metadata`,
`spec`, `status`), exactly as kubectl would print them, so that `get -o yaml|json|jsonpath`,
`apply -f` and the lab runner are the same code whatever the backend. Kinds are always the
canonical names ("Namespace", "Pod", "DeepPacketInspection", "IntrusionDetection",
"FelixConfiguration"); resolving aliases like `dpi` or `ns` is `dpictl.resources.kinds`' job.

Backends know nothing of rule syntax: DPI happens in `dpictl.agent`, which asks a backend
only for endpoints (pods with IPs, labels, node and host interface) and resources.
"""

from __future__ import annotations

from dataclasses import dataclass, field
from typing import Callable, Iterable, Protocol, runtime_checkable


@dataclass(frozen=True, slots=True)
class ExecResult:
    stdout: bytes
    stderr: bytes
    returncode: int


@dataclass(frozen=True, slots=True)
class WorkloadEndpoint:
    """A pod as the DPI agent sees it: Calico's WEP. `labels` already include the implicit
    `projectcalico.org/namespace` and `projectcalico.org/orchestrator` labels."""

    namespace: str
    name: str
    ip: str
    node: str
    interface: str                  # host-side interface (cali...)
    labels: dict[str, str] = field(default_factory=dict)


# Called with (done, total, message) while a long operation runs, for progress bars.
Progress = Callable[[int, int, str], None]


@runtime_checkable
class Backend(Protocol):
    name: str                       # "local" | "kubernetes"

    def apply(self, manifest: dict) -> tuple[dict, str]:
        """Create or update one object; returns (object, "created"|"configured"|"unchanged")."""

    def patch(self, kind: str, name: str, patch: dict, namespace: str | None = None,
              patch_type: str = "merge") -> dict:
        """Merge-patch one object (FelixConfiguration `default` is created on first patch)."""

    def create_namespace(self, name: str) -> dict: ...

    def run_pod(self, namespace: str, name: str, image: str,
                labels: dict[str, str]) -> dict: ...

    def get(self, kind: str, namespace: str | None = None, name: str | None = None,
            all_namespaces: bool = False) -> list[dict]:
        """Objects of a kind; raises dpictl.errors.NotFound when a named one is missing."""

    def delete(self, kind: str, names: Iterable[str], namespace: str | None = None) -> list[str]:
        """Deletes and returns the names deleted; deleting a namespace deletes what is in it."""

    def exec(self, namespace: str, pod: str, argv: list[str], stdin: bytes | None = None,
             timeout: float = 60.0) -> ExecResult: ...

    def wait_pods_running(self, namespace: str, names: Iterable[str], timeout: float,
                          progress: Progress | None = None) -> None: ...

    def endpoints(self, node: str | None = None) -> list[WorkloadEndpoint]:
        """Pods with an IP (on `node` when given), for selection and IP->name attribution."""

    def down(self) -> list[str]:
        """Remove everything dpictl created; returns a line per thing removed."""


__all__ = ["Backend", "ExecResult", "WorkloadEndpoint", "Progress"]
