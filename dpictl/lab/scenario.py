"""A lab scenario as data: the steps to run, the traffic to send and the alerts to expect.

Scenarios are YAML files (see `scenarios/red-blue.yaml`) so that a new lab is a new file, not
new code; `dpictl.lab.scenario_file` reads and validates them into these records.
"""

from __future__ import annotations

from dataclasses import dataclass, field
from typing import Union

DEFAULT_TIMEOUT = 20.0


@dataclass(frozen=True, slots=True)
class PodRef:
    """`namespace/name` of a pod, as scenarios spell it."""

    namespace: str
    name: str

    def __str__(self) -> str:
        return f"{self.namespace}/{self.name}"


@dataclass(frozen=True, slots=True)
class PatchStep:
    kind: str
    name: str
    patch: dict
    namespace: str | None = None
    patch_type: str = "merge"


@dataclass(frozen=True, slots=True)
class NamespacesStep:
    names: tuple[str, ...]


@dataclass(frozen=True, slots=True)
class PodSpec:
    ref: PodRef
    image: str
    labels: dict[str, str]


@dataclass(frozen=True, slots=True)
class PodsStep:
    pods: tuple[PodSpec, ...]


@dataclass(frozen=True, slots=True)
class ApplyStep:
    manifest: dict

    @property
    def kind(self) -> str:
        return str(self.manifest.get("kind", ""))


@dataclass(frozen=True, slots=True)
class PodIpsStep:
    pods: tuple[PodRef, ...]


@dataclass(frozen=True, slots=True)
class TrafficExpectation:
    """How many alerts one traffic command must cause, and on which endpoints."""

    alerts: int
    endpoints: tuple[PodRef, ...] | None = None    # None: don't check which endpoints


@dataclass(frozen=True, slots=True)
class Traffic:
    """One command run inside `source`; `$IP` is the target pod's IP, `$SRC_IP` the source's."""

    name: str
    source: PodRef
    target: PodRef
    command: str
    expect: TrafficExpectation | None = None


@dataclass(frozen=True, slots=True)
class TrafficStep:
    traffic: tuple[Traffic, ...]


Action = Union[PatchStep, NamespacesStep, PodsStep, ApplyStep, PodIpsStep, TrafficStep]


@dataclass(frozen=True, slots=True)
class Step:
    title: str
    action: Action
    # An optional step whose kind the cluster does not serve (FelixConfiguration without
    # Calico) is reported as skipped instead of failing the lab: it does not gate DPI.
    optional: bool = False

    @property
    def kind(self) -> str:
        return _KIND_OF[type(self.action)]


@dataclass(frozen=True, slots=True)
class Signatures:
    """SIDs every alert must carry: `builtin` when run with the built-in rules, `custom` when
    the user passes --rules (the community rule that matches the same request)."""

    builtin: frozenset[int] = frozenset()
    custom: frozenset[int] = frozenset()

    def expected(self, custom_rules: bool) -> frozenset[int]:
        return self.custom if custom_rules else self.builtin


@dataclass(frozen=True, slots=True)
class Scenario:
    name: str
    description: str
    steps: tuple[Step, ...]
    signatures: Signatures = field(default_factory=Signatures)
    timeout: float = DEFAULT_TIMEOUT
    source: str = ""

    @property
    def traffic(self) -> list[Traffic]:
        return [t for s in self.steps if isinstance(s.action, TrafficStep)
                for t in s.action.traffic]

    @property
    def namespaces(self) -> list[str]:
        return [n for s in self.steps if isinstance(s.action, NamespacesStep)
                for n in s.action.names]

    @property
    def applied(self) -> list[dict]:
        return [s.action.manifest for s in self.steps if isinstance(s.action, ApplyStep)]


_KIND_OF = {PatchStep: "patch", NamespacesStep: "namespaces", PodsStep: "pods",
            ApplyStep: "apply", PodIpsStep: "pod_ips", TrafficStep: "traffic"}


__all__ = [
    "Scenario", "Step", "PodRef", "PodSpec", "PatchStep", "NamespacesStep", "PodsStep",
    "ApplyStep", "PodIpsStep", "TrafficStep", "Traffic", "TrafficExpectation", "Signatures",
    "Action", "DEFAULT_TIMEOUT",
]
