"""`dpictl rules check|show` through the Typer app (only this group registered)."""

from __future__ import annotations

import json
from pathlib import Path

import pytest
import typer
from typer.testing import CliRunner

from dpictl.cli.rules import register
from dpictl.errors import ExitCode, InputError, NotFound, UsageError


@pytest.fixture()
def app() -> typer.Typer:
    root = typer.Typer()

    @root.callback()
    def _root() -> None:
        """test root"""

    register(root)
    return root


def _rules(tmp_path: Path) -> Path:
    path = tmp_path / "t.rules"
    path.write_text(
        'alert tcp any any -> any 80 (msg:"ok"; content:"x"; sid:1;)\n'
        'alert tcp any any -> any 80 (msg:"bad"; content:"x"; frob; sid:2;)\n'
        'alert tcp any any -> $NOPE 80 (msg:"var"; content:"x"; sid:3;)\n')
    return path


def test_check_json_shape_and_failure_status(app: typer.Typer, tmp_path: Path) -> None:
    result = CliRunner().invoke(app, ["rules", "check", str(_rules(tmp_path)), "-o", "json"])
    doc = json.loads(result.stdout)
    assert list(doc) == ["total", "loaded", "failed", "errors"]
    assert (doc["total"], doc["loaded"], doc["failed"]) == (3, 1, 2)
    assert doc["errors"] == [
        {"file": str(tmp_path / "t.rules"), "line": 2, "sid": 2,
         "reason": "frob: unknown rule option 'frob'"},
        {"file": str(tmp_path / "t.rules"), "line": 3, "sid": 3,
         "reason": "undefined variable $NOPE (set it with --var NOPE=VALUE)"},
    ]
    assert isinstance(result.exception, InputError)
    assert result.exception.exit_code == ExitCode.BAD_INPUT


def test_check_with_var_and_all_loaded_exits_zero(app: typer.Typer, tmp_path: Path) -> None:
    path = tmp_path / "t.rules"
    path.write_text('alert tcp any any -> $WEB 80 (msg:"ok"; content:"x"; sid:1;)\n')
    result = CliRunner().invoke(app, ["rules", "check", str(path), "--var", "WEB=10.0.0.1",
                                      "-o", "json"])
    assert result.exit_code == 0, result.output
    assert json.loads(result.stdout) == {"total": 1, "loaded": 1, "failed": 0, "errors": []}


def test_check_table_names_each_file_and_error(app: typer.Typer, tmp_path: Path) -> None:
    result = CliRunner().invoke(app, ["rules", "check", str(_rules(tmp_path))],
                                env={"COLUMNS": "200"})
    assert "t.rules" in result.stdout and "unknown rule option 'frob'" in result.stdout
    assert "1 of 3 rules loaded, 2 failed" in result.stdout


def test_check_bad_usage(app: typer.Typer, tmp_path: Path) -> None:
    result = CliRunner().invoke(app, ["rules", "check", str(_rules(tmp_path)), "-o", "xml"])
    assert isinstance(result.exception, UsageError)
    result = CliRunner().invoke(app, ["rules", "check", str(tmp_path / "missing.rules")])
    assert isinstance(result.exception, InputError)
    assert "rules file not found" in str(result.exception)


def test_show_builtin_rule_text_and_json(app: typer.Typer) -> None:
    result = CliRunner().invoke(app, ["rules", "show", "1000001"], env={"COLUMNS": "200"})
    assert result.exit_code == 0, result.output
    assert "http_client_body" in result.stdout and "smk=" in result.stdout
    result = CliRunner().invoke(app, ["rules", "show", "1000001", "-o", "json"])
    doc = json.loads(result.stdout)
    assert doc["sid"] == 1000001 and doc["options"][0]["type"] == "Flow"
    assert {"type": "Content", "pattern": "smk="}.items() <= doc["options"][-1].items()


def test_show_unknown_or_failed_sid(app: typer.Typer, tmp_path: Path) -> None:
    result = CliRunner().invoke(app, ["rules", "show", "424242"])
    assert isinstance(result.exception, NotFound)
    result = CliRunner().invoke(app, ["rules", "show", "2", "--rules", str(_rules(tmp_path))])
    assert isinstance(result.exception, InputError) and "did not load" in str(result.exception)


def test_conf_sets_variables_and_var_wins(app: typer.Typer, tmp_path: Path) -> None:
    conf = tmp_path / "snort.conf"
    conf.write_text("ipvar WEB 10.0.0.1\nportvar WEB_PORTS 8080\nipvar HOME_NET 10.9.0.0/16\n")
    rules = tmp_path / "t.rules"
    rules.write_text('alert tcp $HOME_NET any -> $WEB $WEB_PORTS (msg:"ok"; content:"x"; sid:1;)\n')
    result = CliRunner().invoke(app, ["rules", "show", "1", "-r", str(rules), "--conf", str(conf),
                                      "--var", "HOME_NET=10.8.0.0/16", "-o", "json"])
    assert result.exit_code == 0, result.output
    doc = json.loads(result.stdout)
    assert doc["dst"]["include"] == ["10.0.0.1/32"] and doc["dst_ports"]["include"] == [[8080, 8080]]
    assert doc["src"]["include"] == ["10.8.0.0/16"]
    result = CliRunner().invoke(app, ["rules", "show", "1", "--conf", str(tmp_path / "nope")])
    assert isinstance(result.exception, InputError)
