"""Scenario files: the shipped lab loads as the seed lab says; bad files fail in one line."""

from __future__ import annotations

import subprocess
import sys
from pathlib import Path

import pytest
import yaml

from dpictl.errors import InputError
from dpictl.lab import load_scenario, parse_scenario
from dpictl.lab.scenario import ApplyStep, PodRef

ROOT = Path(__file__).resolve().parents[2]
RED_BLUE = ROOT / "scenarios" / "red-blue.yaml"
CURL = "curl http://$IP:80 -H 'User-Agent: Mozilla/4.0' -XPOST --data-raw 'smk=1234'"


def test_red_blue_is_the_seed_lab():
    s = load_scenario(RED_BLUE)
    assert [st.kind for st in s.steps] == ["patch", "namespaces", "pods", "apply", "apply",
                                           "pod_ips", "traffic"]
    assert s.steps[0].action.patch == {"spec": {"flowLogsFlushInterval": "30s"}}
    assert s.namespaces == ["red", "blue"]
    pods = s.steps[2].action.pods
    assert [(str(p.ref), p.image, p.labels) for p in pods] == [
        (f"{ns}/{n}", "wbitt/network-multitool", {"app": n})
        for ns, n in (("red", "red1"), ("red", "red2"), ("blue", "blue1"), ("blue", "blue2"))]
    dpi, ids = (st.action.manifest for st in s.steps if isinstance(st.action, ApplyStep))
    assert dpi["metadata"] == {"name": "red-dpi-all", "namespace": "red"}
    assert dpi["spec"] == {"selector": "all()"}
    limits = ids["spec"]["componentResources"][0]["resourceRequirements"]["limits"]
    assert limits == {"cpu": "1", "memory": "1Gi"}
    got = {t.name: (t.source, t.target, t.command, t.expect.alerts,
                    t.expect.endpoints) for t in s.traffic}
    assert got == {
        "red1->red2": (PodRef("red", "red1"), PodRef("red", "red2"), CURL, 2,
                       (PodRef("red", "red1"), PodRef("red", "red2"))),
        "red1->blue1": (PodRef("red", "red1"), PodRef("blue", "blue1"), CURL, 1,
                        (PodRef("red", "red1"),)),
        "blue2->red2": (PodRef("blue", "blue2"), PodRef("red", "red2"), CURL, 1,
                        (PodRef("red", "red2"),)),
        "blue2->blue1": (PodRef("blue", "blue2"), PodRef("blue", "blue1"), CURL, 0, None),
    }
    assert s.signatures.expected(custom_rules=True) == {21562}
    assert s.signatures.expected(custom_rules=False) == {1000001}


def test_builtin_sid_is_the_builtin_lab_rule():
    """The scenario's builtin SID must be the rule the rules package ships for the lab."""
    from dpictl.rules import builtin_rules

    rules = builtin_rules()
    by_sid = {r.sid: r for r in getattr(rules, "rules", rules)}
    (sid,) = load_scenario(RED_BLUE).signatures.builtin
    assert "Mozilla/4.0" in by_sid[sid].text and "smk=" in by_sid[sid].text


def _doc() -> dict:
    return yaml.safe_load(RED_BLUE.read_text())


def _mutate(fn) -> str:
    doc = _doc()
    fn(doc)
    return yaml.safe_dump(doc)


BAD = [
    ("not yaml", "name: [unclosed", "not valid YAML"),
    ("not a mapping", "- 1\n- 2", "must be a mapping"),
    ("no steps", "name: x\nsteps: []", "steps: must be a non-empty list"),
    ("no name", None, "missing 'name'"),
    ("unknown key", None, "unknown key 'colour'"),
    ("two kinds in a step", None, "needs exactly one of"),
    ("missing to", None, "steps[6].traffic[0]: missing 'to'"),
    ("bad pod ref", None, "'red1' is not namespace/pod"),
    ("negative count", None, "alerts: must be a whole number >= 0"),
    ("endpoints vs count", None, "lists 1 endpoint(s) but alerts is 2"),
    ("unknown pod", None, "pod red/red9 is not created by any earlier step"),
    ("same pair twice", None, "joins the same pods as"),
    ("bad sid", None, "signatures.custom[0]: must be a positive SID"),
    ("bad name", None, "'Red' is not a valid name"),
    ("pod in unknown ns", None, "namespace 'green' is not created"),
]
MUTATIONS = {
    "no name": lambda d: d.pop("name"),
    "unknown key": lambda d: d.update(colour="red"),
    "two kinds in a step": lambda d: d["steps"][1].update(pod_ips=["red/red1"]),
    "missing to": lambda d: d["steps"][6]["traffic"][0].pop("to"),
    "bad pod ref": lambda d: d["steps"][6]["traffic"][0].update({"from": "red1"}),
    "negative count": lambda d: d["steps"][6]["traffic"][3].update(expect={"alerts": -1}),
    "endpoints vs count": lambda d: d["steps"][6]["traffic"][0]["expect"].update(
        endpoints=["red/red1"]),
    "unknown pod": lambda d: d["steps"][6]["traffic"][0].update(to="red/red9"),
    "same pair twice": lambda d: d["steps"][6]["traffic"][1].update(to="red/red2"),
    "bad sid": lambda d: d["signatures"].update(custom=["x"]),
    "bad name": lambda d: d["steps"][1].update(namespaces=["Red"]),
    "pod in unknown ns": lambda d: d["steps"][2]["pods"][0].update(namespace="green"),
}


@pytest.mark.parametrize("label,text,message", BAD, ids=[b[0] for b in BAD])
def test_bad_scenarios_fail_in_one_line(label, text, message):
    if text is None:
        text = _mutate(MUTATIONS[label])
    with pytest.raises(InputError) as info:
        parse_scenario(text, source="bad.yaml")
    line = str(info.value)
    assert message in line
    assert line.startswith("bad.yaml")
    assert "\n" not in line


def test_missing_file(tmp_path):
    with pytest.raises(InputError, match="no such scenario file"):
        load_scenario(tmp_path / "nope.yaml")


def test_cli_reports_a_bad_scenario_in_one_line_and_exit_3(tmp_path):
    bad = tmp_path / "bad.yaml"
    bad.write_text(_mutate(MUTATIONS["missing to"]))
    proc = subprocess.run([sys.executable, "-m", "dpictl", "run-lab", str(bad),
                           "--db", str(tmp_path / "x.db")], capture_output=True, text=True,
                          timeout=60)
    assert proc.returncode == 3
    lines = proc.stderr.strip().splitlines()
    assert len(lines) == 1 and "missing 'to'" in lines[0] and "Traceback" not in proc.stderr


def test_every_shipped_scenario_loads():
    shipped = sorted((ROOT / "scenarios").glob("*.yaml"))
    assert len(shipped) >= 2
    for path in shipped:
        assert load_scenario(path).traffic


def test_optional_must_be_a_boolean():
    import yaml as _yaml

    from dpictl.errors import InputError
    from dpictl.lab import parse_scenario

    doc = {"name": "x", "steps": [{"name": "felix", "optional": "yes",
                                   "patch": {"kind": "FelixConfiguration", "name": "default",
                                             "patch": {"spec": {}}}},
                                  {"traffic": [{"from": "a/b", "to": "a/c",
                                                "expect": {"alerts": 0}}]}]}
    with pytest.raises(InputError, match=r"steps\[0\]\.optional"):
        parse_scenario(_yaml.safe_dump(doc))
