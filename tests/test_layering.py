"""The dependency direction of DESIGN.md, enforced: the engine knows nothing of Kubernetes,
backends know nothing of rule syntax, and the library never imports the CLI."""

from __future__ import annotations

import ast
from pathlib import Path

import pytest

PKG = Path(__file__).resolve().parents[1] / "dpictl"

# package -> module prefixes it must never import
FORBIDDEN = {
    "engine": ("dpictl.cli", "dpictl.backends", "dpictl.agent", "dpictl.lab", "kubernetes",
               "typer", "rich", "dpictl.resources"),
    "rules": ("dpictl.cli", "dpictl.backends", "dpictl.agent", "dpictl.lab", "dpictl.engine",
              "kubernetes", "typer", "rich"),
    "capture": ("dpictl.cli", "dpictl.backends", "dpictl.agent", "dpictl.lab", "kubernetes",
                "typer", "rich"),
    "alerts": ("dpictl.cli", "dpictl.backends", "dpictl.agent", "dpictl.lab", "typer"),
    "resources": ("dpictl.cli", "dpictl.agent", "dpictl.lab", "dpictl.engine", "dpictl.rules",
                  "typer", "rich"),
    "backends": ("dpictl.cli", "dpictl.lab", "dpictl.engine", "dpictl.rules", "typer"),
    "agent": ("dpictl.cli", "dpictl.lab", "typer"),
    "lab": ("dpictl.cli", "typer"),
    "live": ("dpictl.cli", "dpictl.backends", "dpictl.agent", "dpictl.lab", "kubernetes",
             "typer", "rich"),
    "investigate": ("dpictl.cli", "dpictl.backends", "dpictl.agent", "dpictl.lab", "typer",
                    "rich", "kubernetes"),
    "rulesets": ("dpictl.cli", "dpictl.backends", "dpictl.agent", "dpictl.lab", "kubernetes",
                 "typer", "rich"),
    "flowlogs": ("dpictl.cli", "dpictl.lab", "dpictl.engine", "dpictl.rules", "dpictl.agent",
                 "typer", "rich"),
    "suricata": ("dpictl.cli", "dpictl.backends", "dpictl.agent", "dpictl.lab", "kubernetes",
                 "typer", "rich"),
}


def _imports(path: Path) -> list[str]:
    tree = ast.parse(path.read_text(), filename=str(path))
    names: list[str] = []
    for node in ast.walk(tree):
        if isinstance(node, ast.Import):
            names += [a.name for a in node.names]
        elif isinstance(node, ast.ImportFrom) and node.module and node.level == 0:
            names.append(node.module)
    return names


@pytest.mark.parametrize("package", sorted(FORBIDDEN))
def test_package_imports_point_one_way(package: str) -> None:
    offenders = []
    for path in sorted((PKG / package).rglob("*.py")):
        for name in _imports(path):
            if any(name == bad or name.startswith(bad + ".") for bad in FORBIDDEN[package]):
                offenders.append(f"{path.relative_to(PKG.parent)} imports {name}")
    assert not offenders, "\n".join(offenders)
