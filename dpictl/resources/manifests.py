"""Load manifests the way `kubectl apply -f` does: multi-document YAML (or JSON) from a
file, or from stdin for `-`; a `kind: List` expands to its items.

Input is read in chunks up to `MAX_MANIFEST_BYTES`: `apply -f /dev/zero` or an endless pipe
must fail with one line, not grow until the OOM killer ends it. Reading chunk by chunk in
Python also lets Ctrl-C through: one `read()` of a whole endless file never returns to the
interpreter, so the SIGINT handler would not run until memory ran out.
"""

from __future__ import annotations

import sys
from pathlib import Path
from typing import IO, BinaryIO

import yaml

from dpictl.errors import InputError, ManifestError

MAX_MANIFEST_BYTES = 16 * 1024 * 1024
_CHUNK = 1024 * 1024


def load_manifests(source: str | Path, stdin: IO | None = None) -> list[dict]:
    """Every non-empty document in `source` ('-' = stdin, a directory = its manifest files
    in name order), in order."""
    if str(source) != "-" and Path(source).is_dir():
        files = sorted(p for p in Path(source).iterdir()
                       if p.suffix in (".yaml", ".yml", ".json") and p.is_file())
        if not files:
            raise InputError(f"no .yaml, .yml or .json files in {str(source)!r}")
        return [doc for f in files for doc in load_manifests(f)]
    if str(source) == "-":
        stream = stdin or sys.stdin
        where = "<stdin>"
        text = _decode(read_bounded(getattr(stream, "buffer", stream), where), where)
    else:
        path = Path(source)
        where = str(path)
        try:
            with path.open("rb") as fh:
                text = _decode(read_bounded(fh, where), where)
        except FileNotFoundError:
            raise InputError(f"the path {str(path)!r} does not exist") from None
        except OSError as exc:
            raise InputError(f"cannot read {str(path)!r}: {exc.strerror or exc}") from None
    return parse_manifests(text, where)


def read_bounded(stream: BinaryIO | IO[str], where: str,
                 limit: int = MAX_MANIFEST_BYTES) -> bytes | str:
    """Everything in `stream`, or ManifestError once it holds more than `limit` bytes."""
    chunks: list = []
    size = 0
    while True:
        chunk = stream.read(_CHUNK)
        if not chunk:
            break
        size += len(chunk)
        if size > limit:
            raise ManifestError(f"{where}: manifest input is larger than "
                                f"{limit // (1024 * 1024)} MiB",
                                hint="split it into several files")
        chunks.append(chunk)
    if chunks and isinstance(chunks[0], str):
        return "".join(chunks)
    return b"".join(chunks)


def _decode(data: bytes | str, where: str) -> str:
    if isinstance(data, str):
        return data
    try:
        return data.decode("utf-8")
    except UnicodeDecodeError as exc:
        raise InputError(f"cannot read {where!r}: not UTF-8 text (byte {exc.start})") from None


def parse_manifests(text: str, where: str = "<input>") -> list[dict]:
    """Parse YAML/JSON text holding one or more manifests."""
    try:
        documents = list(yaml.safe_load_all(text))
    except yaml.YAMLError as exc:
        mark = getattr(exc, "problem_mark", None)
        line = f":{mark.line + 1}" if mark is not None else ""
        problem = getattr(exc, "problem", None) or str(exc).splitlines()[0]
        raise ManifestError(f"{where}{line}: invalid YAML: {problem}") from None
    except RecursionError:
        raise ManifestError(f"{where}: invalid YAML: nested too deeply") from None
    out: list[dict] = []
    for i, doc in enumerate(documents):
        if doc is None:
            continue
        if not isinstance(doc, dict):
            raise ManifestError(f"{where}: document {i + 1} is not a mapping",
                                hint="each YAML document must be one object with apiVersion "
                                     "and kind")
        if doc.get("kind") == "List" or str(doc.get("kind", "")).endswith("List"):
            items = doc.get("items") or []
            if not isinstance(items, list):
                raise ManifestError(f"{where}: document {i + 1}: items must be a list")
            out.extend(items)
        else:
            out.append(doc)
    if not out:
        raise ManifestError(f"{where}: no objects passed to apply")
    return out


__all__ = ["load_manifests", "parse_manifests"]
