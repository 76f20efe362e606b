"""Suite-wide fixtures and the policy for tests that need root or the test API server.

Locally a test marked `root` is skipped when not running as root, and one marked `kube` when no
test API server is configured. In CI (CI=true) neither is skipped: a missing prerequisite is a
failure of the CI set-up, not something to pass over quietly.
"""

from __future__ import annotations

import os
from pathlib import Path

import pytest

SHARED = Path(__file__).resolve().parents[1].parent / "shared"
IN_CI = os.environ.get("CI", "").lower() in ("1", "true", "yes")


def _kubeconfig() -> str | None:
    return os.environ.get("DPICTL_TEST_KUBECONFIG")


def pytest_collection_modifyitems(config: pytest.Config, items: list[pytest.Item]) -> None:
    is_root = os.geteuid() == 0
    for item in items:
        if "root" in item.keywords and not is_root and not IN_CI:
            item.add_marker(pytest.mark.skip(reason="needs root (network namespaces)"))
        if "kube" in item.keywords and not _kubeconfig() and not IN_CI:
            item.add_marker(pytest.mark.skip(reason="DPICTL_TEST_KUBECONFIG is not set"))


@pytest.fixture(scope="session", autouse=True)
def private_cache_dir(tmp_path_factory: pytest.TempPathFactory):
    """Compiled rule sets are cached under $XDG_CACHE_HOME and the default state database
    lives under $XDG_STATE_HOME: the suite uses its own of both, never the user's (child
    processes inherit them). A test that forgets `tmp_db` must not read or migrate the
    user's alerts."""
    with pytest.MonkeyPatch.context() as mp:
        cache = tmp_path_factory.mktemp("xdg-cache")
        mp.setenv("XDG_CACHE_HOME", str(cache))
        mp.setenv("XDG_STATE_HOME", str(tmp_path_factory.mktemp("xdg-state")))
        yield cache


@pytest.fixture(scope="session")
def shared_dir() -> Path:
    """../shared beside the project (read-only): rules, pcaps, oracle, reference."""
    if not SHARED.is_dir():
        pytest.fail(f"{SHARED} is missing: the shared test material must sit beside the project")
    return SHARED


@pytest.fixture()
def tmp_db(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> Path:
    """A private state database, so tests never touch the user's alerts or cluster."""
    db = tmp_path / "dpictl.db"
    monkeypatch.setenv("DPICTL_DB", str(db))
    return db


@pytest.fixture(autouse=True)
def _private_rules_dir(tmp_path_factory: pytest.TempPathFactory,
                       monkeypatch: pytest.MonkeyPatch) -> None:
    """No test sees (or writes) the user's managed ruleset: the default rules stay built-in."""
    monkeypatch.setenv("DPICTL_RULES_DIR", str(tmp_path_factory.mktemp("rules-dir")))
