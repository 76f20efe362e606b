"""IntrusionDetection (operator.tigera.io/v1, cluster-scoped, named `tigera-secure`).

Only `spec.componentResources` matters to dpictl: the CPU and memory the DPI agent may use
(Calico's defaults: limit 1 CPU / 1Gi, request 100m / 100Mi).
"""

from __future__ import annotations

from dataclasses import dataclass
from typing import Any

from dpictl.errors import ManifestError
from dpictl.resources.models.meta import mapping
from dpictl.resources.quantity import parse_cpu_millicores, parse_memory_bytes

INTRUSION_DETECTION_NAME = "tigera-secure"
DPI_COMPONENT = "DeepPacketInspection"


@dataclass(frozen=True, slots=True)
class ResourceRequirements:
    """CPU in millicores, memory in bytes."""

    limits_cpu: int = 1000
    limits_memory: int = 2**30
    requests_cpu: int = 100
    requests_memory: int = 100 * 2**20


DEFAULT_DPI_RESOURCES = ResourceRequirements()


@dataclass(frozen=True, slots=True)
class IntrusionDetection:
    name: str
    dpi_resources: ResourceRequirements

    @classmethod
    def from_manifest(cls, manifest: dict) -> "IntrusionDetection":
        meta = mapping(manifest.get("metadata"), "metadata")
        name = meta.get("name")
        if name != INTRUSION_DETECTION_NAME:
            raise ManifestError(f"IntrusionDetection must be named {INTRUSION_DETECTION_NAME!r}, "
                                f"not {name!r}")
        spec = mapping(manifest.get("spec"), "spec")
        components = spec.get("componentResources") or []
        if not isinstance(components, list):
            raise ManifestError("IntrusionDetection spec.componentResources must be a list")
        resources = DEFAULT_DPI_RESOURCES
        for i, component in enumerate(components):
            component = mapping(component, f"spec.componentResources[{i}]")
            if component.get("componentName") != DPI_COMPONENT:
                raise ManifestError(
                    f"spec.componentResources[{i}].componentName must be {DPI_COMPONENT!r}, "
                    f"not {component.get('componentName')!r}",
                    hint="only DeepPacketInspection is supported")
            resources = _requirements(mapping(component.get("resourceRequirements"),
                                              f"spec.componentResources[{i}]"
                                              ".resourceRequirements"), i)
        return cls(name, resources)


def _requirements(req: dict[str, Any], i: int) -> ResourceRequirements:
    where = f"spec.componentResources[{i}].resourceRequirements"
    limits = mapping(req.get("limits"), f"{where}.limits")
    requests = mapping(req.get("requests"), f"{where}.requests")
    for section, values in (("limits", limits), ("requests", requests)):
        unknown = set(values) - {"cpu", "memory"}
        if unknown:
            raise ManifestError(f"{where}.{section}: unsupported resource(s) "
                                f"{', '.join(sorted(unknown))}", hint="use cpu and memory")
    d = DEFAULT_DPI_RESOURCES
    out = ResourceRequirements(
        parse_cpu_millicores(limits["cpu"]) if "cpu" in limits else d.limits_cpu,
        parse_memory_bytes(limits["memory"]) if "memory" in limits else d.limits_memory,
        parse_cpu_millicores(requests["cpu"]) if "cpu" in requests else d.requests_cpu,
        parse_memory_bytes(requests["memory"]) if "memory" in requests else d.requests_memory)
    if out.requests_cpu > out.limits_cpu or out.requests_memory > out.limits_memory:
        raise ManifestError(f"{where}: requests must not exceed limits")
    return out


__all__ = ["IntrusionDetection", "ResourceRequirements", "DEFAULT_DPI_RESOURCES",
           "INTRUSION_DETECTION_NAME", "DPI_COMPONENT"]
