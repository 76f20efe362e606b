"""The kubectl-compatible verbs on the local backend, for everything that needs no root:
what they print, exit codes for bad input, and when the DPI agent is told to reconcile.
"""

from __future__ import annotations

import io
import json
import secrets
from pathlib import Path

import pytest
import yaml

from dpictl.cli import main

DPI_YAML = """\
apiVersion: projectcalico.org/v3
kind: DeepPacketInspection
metadata:
  name: red-dpi-all
  namespace: red
spec:
  selector: all()
"""
IDS_YAML = """\
apiVersion: operator.tigera.io/v1
kind: IntrusionDetection
metadata:
  name: tigera-secure
spec:
  componentResources:
    - componentName: DeepPacketInspection
      resourceRequirements:
        limits: {cpu: '1', memory: 1Gi}
        requests: {cpu: 100m, memory: 100Mi}
"""


@pytest.fixture()
def cli(tmp_path: Path, monkeypatch: pytest.MonkeyPatch, capsys: pytest.CaptureFixture):
    """Run `dpictl ARGS` in-process on a private state file; returns (code, out, err)."""
    monkeypatch.setenv("DPICTL_DB", str(tmp_path / "state.db"))
    monkeypatch.setenv("DPICTL_CLUSTER_ID", "dlbc" + secrets.token_hex(3))
    notified: list[Path] = []
    import dpictl.agent.daemon as daemon
    monkeypatch.setattr(daemon, "ensure_agent", lambda db: notified.append(db) or 1)

    def run(*args: str, stdin: str = "") -> tuple[int, str, str]:
        monkeypatch.setattr("sys.stdin", io.StringIO(stdin))
        try:
            main(list(args))
            code = 0
        except SystemExit as exc:
            code = int(exc.code or 0)
        out, err = capsys.readouterr()
        return code, out, err

    run.notified = notified  # type: ignore[attr-defined]
    return run


def test_lab_apply_get_patch_delete_flow(cli) -> None:
    assert cli("patch", "felixconfiguration", "default", "--type=merge", "-p",
               '{"spec":{"flowLogsFlushInterval":"30s"}}')[1] == \
        "felixconfiguration.projectcalico.org/default patched\n"
    assert cli("create", "ns", "red")[1] == "namespace/red created\n"
    assert cli("create", "namespace", "blue")[1] == "namespace/blue created\n"
    assert len(cli.notified) == 1                          # the felix patch only
    code, out, _ = cli("apply", "-f", "-", stdin=DPI_YAML)
    assert (code, out) == (0, "deeppacketinspection.projectcalico.org/red-dpi-all created\n")
    assert cli("apply", "-f", "-", stdin=IDS_YAML)[1] == \
        "intrusiondetection.operator.tigera.io/tigera-secure created\n"
    assert len(cli.notified) == 3
    assert cli("apply", "-f", "-", stdin=DPI_YAML)[1].endswith("red-dpi-all unchanged\n")
    assert len(cli.notified) == 3                          # nothing changed: no reconcile
    code, out, _ = cli("get", "deeppacketinspection", "-n", "red")
    header, row = out.splitlines()
    assert header == "NAME          CREATED AT" and row.startswith("red-dpi-all   ")
    assert cli("get", "dpi", "-n", "red", "red-dpi-all", "-o", "jsonpath={.spec.selector}")[1] \
        == "all()"
    doc = yaml.safe_load(cli("get", "dpi", "red-dpi-all", "-n", "red", "-o", "yaml")[1])
    assert doc["kind"] == "DeepPacketInspection" and doc["metadata"]["uid"]
    listed = json.loads(cli("get", "deeppacketinspections.projectcalico.org", "-A",
                            "-o", "json")[1])
    assert listed["kind"] == "List" and len(listed["items"]) == 1
    assert cli("get", "ns", "-o", "name")[1] == "namespace/blue\nnamespace/red\n"
    felix = cli("get", "felixconfiguration", "default", "-o=jsonpath={.spec}")[1]
    assert json.loads(felix) == {"flowLogsFlushInterval": "30s"}
    assert cli("delete", "ns", "red")[1] == 'namespace "red" deleted\n'
    assert len(cli.notified) == 4                          # red took its DPI with it
    assert cli("delete", "ns", "blue")[1] == 'namespace "blue" deleted\n'
    assert len(cli.notified) == 4


def test_empty_get_says_so_on_stderr(cli) -> None:
    cli("create", "ns", "red")
    code, out, err = cli("get", "pods", "-n", "red")
    assert (code, out, err) == (0, "", "No resources found in red namespace.\n")


@pytest.mark.parametrize("args,stdin,code,message", [
    (("get", "widgets"), "", 2, "doesn't have a resource type 'widgets'"),
    (("get", "dpi", "-n", "red", "nope"), "", 5, 'deeppacketinspections.projectcalico.org '
                                                 '"nope" not found'),
    (("get", "dpi", "-o", "table"), "", 2, "unsupported output format"),
    (("get", "dpi", "-o", "jsonpath={.items"), "", 2, "unclosed action"),
    (("apply", "-f", "-"), "kind: [", 3, "invalid YAML"),
    (("apply", "-f", "-"), DPI_YAML.replace("all()", "app ="), 3, "spec.selector"),
    (("apply", "-f", "-"), DPI_YAML, 5, 'namespaces "red" not found'),
    (("apply", "-f", "/no/such/file.yaml"), "", 3, "does not exist"),
    (("apply", "-f", "-", "-n", "blue"), DPI_YAML, 3, "does not match the namespace"),
    (("patch", "felixconfiguration", "default", "-p", "{"), "", 2, "not valid JSON/YAML"),
    (("patch", "felixconfiguration", "default", "--type", "xml", "-p", "{}"), "", 2,
     "--type must be"),
    (("patch", "dpi", "x", "-n", "red", "-p", "{}"), "", 5, "not found"),
    (("delete", "dpi", "ghost", "-n", "red"), "", 5, '"ghost" not found'),
    (("run", "-n", "red", "Bad_Name", "--image=x"), "", 3, "invalid Pod name"),
    (("run", "-n", "red", "p", "--image=x", "--labels=app"), "", 3, "invalid label"),
])
def test_bad_input_is_one_line_and_an_exit_code(cli, args, stdin, code, message) -> None:
    got_code, out, err = cli(*args, stdin=stdin)
    assert got_code == code, err
    assert message in err and err.count("\n") == 1 and "Traceback" not in err


def test_delete_ignore_not_found(cli) -> None:
    assert cli("delete", "dpi", "ghost", "-n", "red", "--ignore-not-found")[0] == 0


def test_agent_autostart_can_be_turned_off(cli, monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setenv("DPICTL_AGENT_AUTOSTART", "0")
    cli("create", "ns", "red")
    cli("apply", "-f", "-", stdin=DPI_YAML)
    assert cli.notified == []
