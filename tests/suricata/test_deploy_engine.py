"""The in-cluster agent takes the engine: manifests carry it, the image recipe installs Suricata."""

from __future__ import annotations

import sys
from pathlib import Path

import yaml

sys.path.insert(0, str(Path(__file__).resolve().parents[1] / "cli"))

from in_process import run  # noqa: E402

ROOT = Path(__file__).resolve().parents[2]


def _engine_env(text: str) -> str:
    for doc in yaml.safe_load_all(text):
        if doc and doc.get("kind") == "DaemonSet":
            env = doc["spec"]["template"]["spec"]["containers"][0]["env"]
            return next(e["value"] for e in env if e["name"] == "DPICTL_ENGINE")
    raise AssertionError("no DaemonSet")


def test_manifests_carry_the_engine(capsys):
    code, out, _ = run(capsys, "agent", "manifests", "--offline", "--engine", "suricata")
    assert code == 0 and _engine_env(out) == "suricata"
    code, out, _ = run(capsys, "agent", "manifests", "--offline")
    assert code == 0 and _engine_env(out) == "python"
    code, _, err = run(capsys, "agent", "manifests", "--offline", "--engine", "snort")
    assert code == 2 and "unknown engine" in err


def test_image_recipe_and_setup_install_suricata_7_from_backports():
    dockerfile = (ROOT / "deploy" / "Dockerfile").read_text()
    assert "bookworm-backports" in dockerfile and "suricata" in dockerfile
    setup = (ROOT / "scripts" / "setup.sh").read_text()
    assert "--suricata) want_suricata=1" in setup
    assert "-t bookworm-backports" in setup
