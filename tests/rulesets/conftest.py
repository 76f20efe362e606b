"""Fixtures for managed-rules tests: a private rules directory, a loopback HTTP source and
small rule archives built in the test's tmp dir."""

from __future__ import annotations

import io
import tarfile
import zipfile
from pathlib import Path
from typing import Iterator

import pytest

from dpictl.rulesets import RulesDir
from .http_source import RuleServer, start

RULE = ('alert tcp any any -> any {port} (msg:"test rule {sid}"; content:"{content}"; '
        'metadata:policy {policy}; sid:{sid}; rev:{rev};)')


def rule(sid: int, rev: int = 1, port: int = 80, content: str = "x", policy: str = "x",
         disabled: bool = False) -> str:
    text = RULE.format(sid=sid, rev=rev, port=port, content=content, policy=policy)
    return f"# {text}" if disabled else text


def targz(files: dict[str, str]) -> bytes:
    buf = io.BytesIO()
    with tarfile.open(fileobj=buf, mode="w:gz") as tar:
        for name, text in files.items():
            data = text.encode()
            info = tarfile.TarInfo(name)
            info.size = len(data)
            tar.addfile(info, io.BytesIO(data))
    return buf.getvalue()


def zipped(files: dict[str, str]) -> bytes:
    buf = io.BytesIO()
    with zipfile.ZipFile(buf, "w") as archive:
        for name, text in files.items():
            archive.writestr(name, text)
    return buf.getvalue()


@pytest.fixture()
def rules_dir(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> RulesDir:
    root = tmp_path / "rules"
    monkeypatch.setenv("DPICTL_RULES_DIR", str(root))
    return RulesDir(root)


@pytest.fixture()
def rule_server() -> Iterator[RuleServer]:
    server = start(RuleServer())
    yield server
    assert server.server is not None
    server.server.shutdown()
    server.server.server_close()


from cli.in_process import run  # noqa: E402,F401 - the one in-process runner, re-exported
