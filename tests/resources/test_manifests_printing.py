"""Loading manifests like `kubectl apply -f`, and what `get` prints."""

from __future__ import annotations

import io
from datetime import datetime, timezone
from pathlib import Path

import pytest

from dpictl.errors import InputError, ManifestError
from dpictl.resources import printing
from dpictl.resources.manifests import load_manifests, parse_manifests

TWO_DOCS = """\
apiVersion: projectcalico.org/v3
kind: DeepPacketInspection
metadata:
  name: red-dpi-all
  namespace: red
spec:
  selector: all()
---
# a comment-only document is skipped
---
apiVersion: operator.tigera.io/v1
kind: IntrusionDetection
metadata: {name: tigera-secure}
"""


def test_multi_document_file(tmp_path: Path) -> None:
    path = tmp_path / "lab.yaml"
    path.write_text(TWO_DOCS)
    docs = load_manifests(path)
    assert [d["kind"] for d in docs] == ["DeepPacketInspection", "IntrusionDetection"]


def test_stdin_dash() -> None:
    docs = load_manifests("-", stdin=io.StringIO(TWO_DOCS))
    assert docs[0]["metadata"]["name"] == "red-dpi-all"


def test_json_and_list_kinds() -> None:
    docs = parse_manifests('{"kind": "List", "items": [{"kind": "Namespace"}, {"kind": "Pod"}]}')
    assert [d["kind"] for d in docs] == ["Namespace", "Pod"]


@pytest.mark.parametrize("text,message", [
    ("a: [1, 2", "invalid YAML"),
    ("- just\n- a list\n", "is not a mapping"),
    ("", "no objects"),
    ("---\n---\n", "no objects"),
])
def test_bad_yaml(text: str, message: str) -> None:
    with pytest.raises(ManifestError, match=message):
        parse_manifests(text, "f.yaml")


def test_yaml_error_names_the_line() -> None:
    with pytest.raises(ManifestError, match=r"^f.yaml:2: invalid YAML"):
        parse_manifests("a: 1\nb: c: d\n", "f.yaml")


def test_missing_file_and_empty_directory(tmp_path: Path) -> None:
    with pytest.raises(InputError, match="does not exist"):
        load_manifests(tmp_path / "nope.yaml")
    with pytest.raises(InputError, match="no .yaml, .yml or .json files"):
        load_manifests(tmp_path)


def test_directory_loads_its_manifest_files_in_order(tmp_path: Path) -> None:
    (tmp_path / "b.yaml").write_text(TWO_DOCS)
    (tmp_path / "a.json").write_text('{"kind": "Namespace", "metadata": {"name": "red"}}')
    (tmp_path / "notes.txt").write_text("not a manifest")
    assert [d["kind"] for d in load_manifests(tmp_path)] == [
        "Namespace", "DeepPacketInspection", "IntrusionDetection"]


NOW = datetime(2023, 11, 1, 17, 5, 0, tzinfo=timezone.utc)
DPI = {"kind": "DeepPacketInspection",
       "metadata": {"name": "red-dpi-all", "namespace": "red",
                    "creationTimestamp": "2023-11-01T17:02:06Z"}}
POD = {"kind": "Pod", "metadata": {"name": "red1", "namespace": "red",
                                   "creationTimestamp": "2023-11-01T17:04:54Z"},
       "spec": {"containers": [{"name": "red1"}], "nodeName": "node-1"},
       "status": {"phase": "Running", "podIP": "10.244.0.2",
                  "containerStatuses": [{"ready": True, "restartCount": 0}]}}


def test_dpi_table_is_name_and_created_at() -> None:
    text = printing.format_table(*printing.table("DeepPacketInspection", [DPI], now=NOW))
    assert text == "NAME          CREATED AT\nred-dpi-all   2023-11-01T17:02:06Z\n"


def test_pod_table_wide_all_namespaces() -> None:
    headers, rows = printing.table("Pod", [POD], wide=True, all_namespaces=True, now=NOW)
    assert headers == ["NAMESPACE", "NAME", "READY", "STATUS", "RESTARTS", "AGE", "IP", "NODE",
                       "NOMINATED NODE", "READINESS GATES"]
    assert rows == [["red", "red1", "1/1", "Running", "0", "6s", "10.244.0.2", "node-1",
                     "<none>", "<none>"]]


def test_namespace_table() -> None:
    ns = {"kind": "Namespace", "metadata": {"name": "red",
                                            "creationTimestamp": "2023-11-01T16:00:00Z"},
          "status": {"phase": "Active"}}
    assert printing.table("Namespace", [ns], now=NOW)[1] == [["red", "Active", "65m"]]


@pytest.mark.parametrize("seconds,text", [(5, "5s"), (119, "119s"), (150, "2m30s"),
                                          (600, "10m"), (3 * 3600 + 300, "3h5m"),
                                          (30 * 3600, "30h"), (3 * 86400, "3d"),
                                          (400 * 86400, "400d"), (-5, "<invalid>")])
def test_human_duration(seconds: int, text: str) -> None:
    assert printing.human_duration(seconds) == text


def test_object_names_and_list_wrapper() -> None:
    assert printing.object_name(DPI) == "deeppacketinspection.projectcalico.org/red-dpi-all"
    assert printing.object_name(POD) == "pod/red1"
    assert printing.as_list([POD])["kind"] == "List"
    assert '"podIP": "10.244.0.2"' in printing.to_json(POD)
    assert "podIP: 10.244.0.2" in printing.to_yaml(POD)
