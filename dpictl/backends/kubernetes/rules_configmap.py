"""The managed ruleset as a ConfigMap in the agent's namespace: published by `dpictl rules
update --backend kubernetes`, read back by every DaemonSet agent.

Files travel gzip-compressed in `binaryData` (the Snort 3 community ruleset is 1.8 MB of text,
over the 1 MiB an object may hold; gzip brings it to about 215 KB). The bytes are opaque
here: the backend knows nothing of rule syntax. A sha256 annotation lets a reader (and a
human) tell two versions apart without decompressing them.
"""

from __future__ import annotations

import base64
import gzip
import hashlib

from dpictl.errors import ClusterError, NotFound

CONFIGMAP = "dpictl-rules"
MAX_BYTES = 1_000_000          # below the API server's 1 MiB limit, with room for metadata
_DIGEST = "dpictl.io/ruleset-sha256"


def ruleset_configmap(namespace: str, files: dict[str, bytes]) -> dict:
    """The ConfigMap manifest holding `files` (name -> bytes), each as NAME.gz."""
    binary = {f"{name}.gz": base64.b64encode(gzip.compress(data, mtime=0)).decode("ascii")
              for name, data in sorted(files.items())}
    size = sum(len(v) for v in binary.values())
    if size > MAX_BYTES:
        raise ClusterError(f"the ruleset is {size:,} bytes compressed, more than a ConfigMap "
                           f"holds ({MAX_BYTES:,})",
                           hint="disable rules or sources you do not need, then update again")
    digest = hashlib.sha256(b"".join(files[k] for k in sorted(files))).hexdigest()
    return {"apiVersion": "v1", "kind": "ConfigMap",
            "metadata": {"name": CONFIGMAP, "namespace": namespace,
                         "labels": {"app.kubernetes.io/part-of": "dpictl"},
                         "annotations": {_DIGEST: digest}},
            "binaryData": binary}


def publish_ruleset(backend, namespace: str, files: dict[str, bytes]) -> tuple[dict, str]:
    """Create or replace the ConfigMap; (object, created|configured|unchanged)."""
    manifest = ruleset_configmap(namespace, files)
    try:
        return backend.apply(manifest)
    except NotFound:
        raise NotFound(f"cannot publish the ruleset: no namespace {namespace}",
                       hint="install the agent first (dpictl agent install --backend "
                            "kubernetes), or pass -n with the agent's namespace") from None


def read_ruleset(backend, namespace: str) -> tuple[str, dict[str, bytes]] | None:
    """(its sha256 annotation, name -> bytes), or None while nothing has been published."""
    try:
        obj = backend.get("ConfigMap", namespace=namespace, name=CONFIGMAP)[0]
    except NotFound:
        return None
    files = {name[:-3]: gzip.decompress(base64.b64decode(value))
             for name, value in (obj.get("binaryData") or {}).items() if name.endswith(".gz")}
    digest = ((obj.get("metadata") or {}).get("annotations") or {}).get(_DIGEST, "")
    return digest, files


__all__ = ["CONFIGMAP", "ruleset_configmap", "publish_ruleset", "read_ruleset"]
