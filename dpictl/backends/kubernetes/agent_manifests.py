"""The dpictl agent's manifests: rendered from the templates in `dpictl/deploy/`, applied in order.

The templates are data (YAML a reviewer can read and `kubectl apply` by hand); only four
things are filled in: the namespace, the image, the engine, and the container's resources, which come
from IntrusionDetection `componentResources` (DeepPacketInspection) when the cluster has one,
else Calico's defaults. The CRDs in dpictl's own group are added only for what the cluster
does not already serve (Calico's DeepPacketInspection, the operator's IntrusionDetection).
"""

from __future__ import annotations

import copy
import time
from dataclasses import dataclass
from pathlib import Path
from string import Template

import yaml

import dpictl
from dpictl.errors import ClusterError, InputError, NotFound

DEFAULT_NAMESPACE = "dpictl-system"
DEFAULT_IMAGE = f"ghcr.io/dpictl/dpictl:{dpictl.__version__}"
DEFAULT_LIMITS = {"cpu": "1", "memory": "1Gi"}        # Calico's DPI defaults
DEFAULT_REQUESTS = {"cpu": "100m", "memory": "100Mi"}
AGENT_TEMPLATES = ("namespace.yaml", "serviceaccount.yaml", "rbac.yaml", "daemonset.yaml")
CRD_TEMPLATES = {"DeepPacketInspection": "deeppacketinspections.dpictl.io.yaml",
                 "IntrusionDetection": "intrusiondetections.dpictl.io.yaml"}


def deploy_dir() -> Path:
    """Where the templates live: `dpictl/deploy/`, shipped as package data."""
    here = Path(dpictl.__file__).resolve().parent / "deploy"
    if not (here / "agent").is_dir():
        raise InputError(f"the agent templates are missing ({here}/agent)",
                         hint="run from a dpictl source checkout, or reinstall dpictl")
    return here


@dataclass(frozen=True, slots=True)
class AgentOptions:
    namespace: str = DEFAULT_NAMESPACE
    image: str = DEFAULT_IMAGE
    engine: str = "python"           # the data plane: python or suricata (DPICTL_ENGINE)


def _load(path: Path, values: dict[str, str]) -> list[dict]:
    text = Template(path.read_text()).substitute(values)
    return [doc for doc in yaml.safe_load_all(text) if doc]


def dpi_resources(intrusion_detection: dict | None) -> dict:
    """The container's `resources`: DPI's componentResources, else Calico's defaults."""
    for item in ((intrusion_detection or {}).get("spec") or {}).get("componentResources") or []:
        if isinstance(item, dict) and item.get("componentName") == "DeepPacketInspection":
            req = copy.deepcopy(item.get("resourceRequirements") or {})
            limits = {k: str(v) for k, v in (req.get("limits") or {}).items()}
            requests = {k: str(v) for k, v in (req.get("requests") or {}).items()}
            return {"limits": limits or dict(DEFAULT_LIMITS),
                    "requests": requests or dict(DEFAULT_REQUESTS)}
    return {"limits": dict(DEFAULT_LIMITS), "requests": dict(DEFAULT_REQUESTS)}


def render(options: AgentOptions = AgentOptions(), intrusion_detection: dict | None = None,
           crds_for: tuple[str, ...] = ()) -> list[dict]:
    """Every manifest of the agent, CRDs first (for the kinds in `crds_for`)."""
    base = deploy_dir()
    values = {"NAMESPACE": options.namespace, "IMAGE": options.image,
              "ENGINE": options.engine}
    docs: list[dict] = []
    for kind in crds_for:
        docs += _load(base / "crds" / CRD_TEMPLATES[kind], values)
    for name in AGENT_TEMPLATES:
        docs += _load(base / "agent" / name, values)
    for doc in docs:
        if doc.get("kind") == "DaemonSet":
            container = doc["spec"]["template"]["spec"]["containers"][0]
            container["resources"] = dpi_resources(intrusion_detection)
    return docs


def missing_crds(backend) -> tuple[str, ...]:
    """Kinds the cluster does not serve in any group, for which dpictl brings its CRD."""
    missing = []
    for kind in CRD_TEMPLATES:
        try:
            backend.ref(kind)
        except NotFound:
            missing.append(kind)
    return tuple(missing)


def _intrusion_detection(backend) -> dict | None:
    try:
        return backend.get("IntrusionDetection", name="tigera-secure")[0]
    except NotFound:
        return None


def plan(backend, options: AgentOptions = AgentOptions()) -> list[dict]:
    """The manifests this cluster needs: the agent, plus dpictl's CRDs where Calico's are absent."""
    crds = missing_crds(backend)
    ids = None if "IntrusionDetection" in crds else _intrusion_detection(backend)
    return render(options, ids, crds)


CALICO_DPI_DAEMONSET = ("tigera-dpi", "tigera-dpi")     # namespace, name (Calico's render)


def check_no_calico_dpi(backend) -> None:
    """Refuse to add a second inspector where Calico's tigera-dpi already runs: both would
    alert on every packet and overwrite each other's status.nodes[] entries."""
    ns, name = CALICO_DPI_DAEMONSET
    try:
        backend.get("DaemonSet", ns, name)
    except NotFound:
        return
    raise ClusterError(f"Calico's DPI (DaemonSet {ns}/{name}) already inspects on this "
                       "cluster; dpictl's agent would inspect every packet a second time",
                       hint="use Calico's DPI (dpictl run-lab works with it), or pass "
                            "--force to install dpictl's agent anyway")


def _wait_established(backend, names: list[str], timeout: float = 30.0) -> None:
    """A new CRD serves only once `Established`; applying a custom object before fails."""
    deadline = time.monotonic() + timeout
    pending = list(names)
    while pending:
        crd = backend.get("CustomResourceDefinition", name=pending[0])[0]
        conditions = (crd.get("status") or {}).get("conditions") or []
        if any(c.get("type") == "Established" and c.get("status") == "True"
               for c in conditions):
            pending.pop(0)
            continue
        if time.monotonic() > deadline:
            raise ClusterError(f"CRD {pending[0]} not Established after {timeout:g}s")
        time.sleep(0.2)
    backend.discovery.invalidate()


def install(backend, manifests: list[dict], dry_run: bool = False) -> list[str]:
    """Apply in order (CRDs first, then wait for them); one kubectl-style line each."""
    lines, crds = [], []
    for doc in manifests:
        if doc["kind"] != "CustomResourceDefinition" and crds and not dry_run:
            _wait_established(backend, crds)
            crds = []
        obj, verdict = backend.apply(doc, dry_run=dry_run)
        if doc["kind"] == "CustomResourceDefinition":
            crds.append(doc["metadata"]["name"])
        suffix = " (server dry run)" if dry_run else ""
        lines.append(f"{doc['kind'].lower()}/{doc['metadata']['name']} {verdict}{suffix}")
    return lines


def uninstall(backend, manifests: list[dict], keep_crds: bool = True) -> list[str]:
    """Delete the agent (reverse order); dpictl's CRDs too only when `keep_crds` is False,
    because deleting a CRD deletes every DeepPacketInspection stored in it."""
    lines = []
    for doc in reversed(manifests):
        kind, meta = doc["kind"], doc["metadata"]
        if kind == "CustomResourceDefinition" and keep_crds:
            continue
        if kind == "Namespace":
            continue            # deleted last, after what lives in it
        try:
            backend.delete(kind, [meta["name"]], meta.get("namespace"))
            lines.append(f"{kind.lower()}/{meta['name']} deleted")
        except NotFound:
            pass
    for doc in manifests:
        if doc["kind"] == "Namespace":
            try:
                backend.delete("Namespace", [doc["metadata"]["name"]])
                lines.append(f"namespace/{doc['metadata']['name']} deleted")
            except NotFound:
                pass
    return lines


def all_manifests(options: AgentOptions = AgentOptions()) -> list[dict]:
    """Every manifest including both CRDs (for uninstall and offline `manifests --all`)."""
    return render(options, None, tuple(CRD_TEMPLATES))


__all__ = ["AgentOptions", "DEFAULT_NAMESPACE", "DEFAULT_IMAGE", "render", "plan", "install",
           "uninstall", "dpi_resources", "missing_crds", "all_manifests", "deploy_dir",
           "check_no_calico_dpi"]
