"""sources.yaml through the library and through `dpictl rules source ...`."""

from __future__ import annotations

from pathlib import Path

import pytest

from dpictl.errors import InputError, NotFound, UsageError
from dpictl.rulesets import RulesDir
from dpictl.rulesets.sources import add_source, load_sources, remove_source, set_enabled

from .conftest import run


def test_add_list_disable_enable_remove(rules_dir: RulesDir, tmp_path: Path) -> None:
    local = tmp_path / "local.rules"
    local.write_text("")
    add_source(rules_dir, "web", "https://example.invalid/rules.tar.gz")
    added = add_source(rules_dir, "mine", str(local.relative_to(Path.cwd()))
                       if local.is_relative_to(Path.cwd()) else str(local))
    assert added.url == str(local)                     # paths are stored absolute
    set_enabled(rules_dir, "web", False)
    assert [(s.name, s.enabled) for s in load_sources(rules_dir)] == [("web", False),
                                                                       ("mine", True)]
    remove_source(rules_dir, "web")
    assert [s.name for s in load_sources(rules_dir)] == ["mine"]


@pytest.mark.parametrize("name, location, error", [
    ("bad name", "http://x/r.rules", UsageError),
    ("ok", "ftp://x/r.rules", UsageError),
    ("ok", "/no/such/file.rules", InputError),
    ("ok", "file:///no/such/file.rules", InputError),
])
def test_bad_sources_are_refused(rules_dir: RulesDir, name: str, location: str,
                                 error: type) -> None:
    with pytest.raises(error):
        add_source(rules_dir, name, location)
    assert load_sources(rules_dir) == []


def test_duplicates_and_unknown_names(rules_dir: RulesDir) -> None:
    add_source(rules_dir, "web", "http://x/r.rules")
    with pytest.raises(UsageError, match="already exists"):
        add_source(rules_dir, "web", "http://y/r.rules")
    with pytest.raises(NotFound):
        remove_source(rules_dir, "nope")


def test_source_commands(rules_dir: RulesDir, capsys: pytest.CaptureFixture) -> None:
    code, out, _ = run(capsys, "rules", "source", "add", "web", "http://127.0.0.1:9/r.rules")
    assert code == 0 and "added source web" in out
    assert run(capsys, "rules", "source", "disable", "web")[0] == 0
    code, out, _ = run(capsys, "rules", "source", "list")
    assert out.split() == ["web", "disabled", "http://127.0.0.1:9/r.rules"]
    code, _, err = run(capsys, "rules", "source", "enable", "other")
    assert code == 5 and err.startswith("dpictl: error: no rule source 'other'")
    code, out, _ = run(capsys, "rules", "source", "list", "-o", "json")
    assert '"enabled": false' in out
    assert run(capsys, "rules", "source", "remove", "web")[0] == 0
    assert "no rule sources" in run(capsys, "rules", "source", "list")[1]


def test_removing_a_source_keeps_another_sources_cache(rules_dir: RulesDir) -> None:
    add_source(rules_dir, "a", "http://x/a.rules")
    add_source(rules_dir, "a.b", "http://x/b.rules")
    rules_dir.cache.mkdir(parents=True)
    for name in ("a.data", "a.json", "a.b.data", "a.b.json"):
        (rules_dir.cache / name).write_text("x")
    remove_source(rules_dir, "a")
    assert sorted(p.name for p in rules_dir.cache.iterdir()) == ["a.b.data", "a.b.json"]
