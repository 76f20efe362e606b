"""Load manifests the way `kubectl apply -f` does: multi-document YAML (or JSON) from a
file, or from stdin for `-`; a `kind: List` expands to its items.
"""

from __future__ import annotations

import sys
from pathlib import Path
from typing import IO

import yaml

from dpictl.errors import InputError, ManifestError


def load_manifests(source: str | Path, stdin: IO[str] | None = None) -> list[dict]:
    """Every non-empty document in `source` ('-' = stdin, a directory = its manifest files
    in name order), in order."""
    if str(source) != "-" and Path(source).is_dir():
        files = sorted(p for p in Path(source).iterdir()
                       if p.suffix in (".yaml", ".yml", ".json") and p.is_file())
        if not files:
            raise InputError(f"no .yaml, .yml or .json files in {str(source)!r}")
        return [doc for f in files for doc in load_manifests(f)]
    if str(source) == "-":
        text = (stdin or sys.stdin).read()
        where = "<stdin>"
    else:
        path = Path(source)
        try:
            text = path.read_text(encoding="utf-8")
        except FileNotFoundError:
            raise InputError(f"the path {str(path)!r} does not exist") from None
        except (OSError, UnicodeDecodeError) as exc:
            raise InputError(f"cannot read {str(path)!r}: {exc}") from None
        where = str(path)
    return parse_manifests(text, where)


def parse_manifests(text: str, where: str = "<input>") -> list[dict]:
    """Parse YAML/JSON text holding one or more manifests."""
    try:
        documents = list(yaml.safe_load_all(text))
    except yaml.YAMLError as exc:
        mark = getattr(exc, "problem_mark", None)
        line = f":{mark.line + 1}" if mark is not None else ""
        problem = getattr(exc, "problem", None) or str(exc).splitlines()[0]
        raise ManifestError(f"{where}{line}: invalid YAML: {problem}") from None
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
