"""Issue 8's code shape: `LabEnvironment` is a Protocol in a module that imports nothing of
the backends (no cycle in dpictl/lab/), the lab builders live in one module, and a backend is
picked by name in one place (`dpictl.backends.open_backend`), so every command rejects an
unknown one with the same line."""

from __future__ import annotations

import ast
from pathlib import Path
from typing import Protocol

import pytest

from dpictl.cli import main

PKG = Path(__file__).resolve().parents[1] / "dpictl"


def _runtime_imports(path: Path) -> list[str]:
    """Modules imported outside `if TYPE_CHECKING:` blocks."""
    tree = ast.parse(path.read_text())
    skipped = {id(n) for node in ast.walk(tree) if isinstance(node, ast.If)
               and getattr(node.test, "id", None) == "TYPE_CHECKING"
               for n in ast.walk(node)}
    names = []
    for node in ast.walk(tree):
        if id(node) in skipped:
            continue
        if isinstance(node, ast.Import):
            names += [a.name for a in node.names]
        elif isinstance(node, ast.ImportFrom) and node.module:
            names.append(node.module)
    return names


def test_lab_environment_is_a_protocol_that_imports_no_backend():
    from dpictl.lab.environment import LabEnvironment

    assert Protocol in LabEnvironment.__mro__
    imports = _runtime_imports(PKG / "lab" / "environment.py")
    assert [m for m in imports if m.startswith("dpictl")] == []


def test_no_import_cycle_in_the_lab_package():
    graph = {p.stem: {m.rsplit(".", 1)[1] for m in _runtime_imports(p)
                      if m.startswith("dpictl.lab.")}
             for p in (PKG / "lab").glob("*.py")}

    def reaches(start: str, goal: str, seen: set[str]) -> bool:
        for nxt in graph.get(start, ()):
            if nxt == goal or (nxt not in seen and reaches(nxt, goal, seen | {nxt})):
                return True
        return False
    cyclic = sorted(m for m in graph if reaches(m, m, {m}))
    assert cyclic == []


def test_lab_builders_have_one_home():
    """Only dpictl/lab/builders.py assembles a lab; no backend module duck-types one."""
    assemblers = sorted(str(p.relative_to(PKG)) for p in PKG.rglob("*.py")
                        if "inspection=" in p.read_text() and "alerts=" in p.read_text())
    assert assemblers == ["lab/builders.py"]


def test_backend_classes_are_built_in_one_place():
    builders = sorted(str(p.relative_to(PKG)) for p in PKG.rglob("*.py")
                      if not str(p.relative_to(PKG)).startswith(("backends/local/",
                                                                  "backends/kubernetes/"))
                      and ("LocalBackend(" in p.read_text()
                           or "KubernetesBackend(" in p.read_text()))
    assert builders == ["backends/__init__.py"]


@pytest.mark.parametrize("argv", [
    ["alerts", "list", "--backend", "nosuch"],
    ["agent", "run", "--backend", "nosuch"],
    ["lab", "status", "--backend", "nosuch"],
    ["get", "pods", "--backend", "nosuch"],
], ids=lambda a: " ".join(a[:2]))
def test_every_command_rejects_an_unknown_backend_alike(argv, capsys, tmp_path, monkeypatch):
    monkeypatch.setenv("DPICTL_DB", str(tmp_path / "state.db"))
    with pytest.raises(SystemExit) as done:
        main(argv)
    assert done.value.code == 2
    assert capsys.readouterr().err.strip() == (
        "dpictl: error: unknown backend 'nosuch' (use one of: local, kubernetes)")
