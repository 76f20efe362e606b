"""`dpictl rules update --backend kubernetes` publishes the managed ruleset as a ConfigMap in
the agent's namespace; a DaemonSet agent's sync copies it into its rules directory, where the
agent's reload check sees new stamps (the same path a local update takes)."""

from __future__ import annotations

import base64
import gzip
from pathlib import Path

import pytest

from dpictl.agent.kube_rules import RulesConfigMapSync
from dpictl.backends.kubernetes.rules_configmap import MAX_BYTES, ruleset_configmap
from dpictl.errors import ClusterError
from dpictl.rulesets import RulesDir
from dpictl.rulesets.active import version

from cli.in_process import run

RULES = ('alert tcp any any -> any 80 (msg:"a"; content:"smk="; sid:5000001; rev:1;)\n'
         'alert tcp any any -> any 80 (msg:"b"; content:"xyz="; sid:5000002; rev:1;)\n')


_run = run


def test_the_community_ruleset_fits_compressed(shared_dir: Path) -> None:
    data = (shared_dir / "rules" / "snort3-community.rules").read_bytes()
    cm = ruleset_configmap("ns", {"managed.rules": data})
    packed = cm["binaryData"]["managed.rules.gz"]
    assert len(data) > 1_048_576 > MAX_BYTES > len(packed)
    assert gzip.decompress(base64.b64decode(packed)) == data


def test_a_ruleset_too_large_for_a_configmap_is_refused() -> None:
    noise = bytes(range(256)) * 8000      # ~2 MB that gzip cannot shrink much
    import os

    with pytest.raises(ClusterError, match="more than a ConfigMap holds"):
        ruleset_configmap("ns", {"managed.rules": noise + os.urandom(1_200_000)})


@pytest.mark.kube
def test_publish_then_agents_sync_and_reload(backend, kubeconfig: Path, make_ns, tmp_path: Path,
                                             monkeypatch: pytest.MonkeyPatch,
                                             capsys: pytest.CaptureFixture) -> None:
    ns = make_ns("rules")
    monkeypatch.setenv("DPICTL_RULES_DIR", str(tmp_path / "cli"))
    source = tmp_path / "local.rules"
    source.write_text(RULES)
    (tmp_path / "cli").mkdir()
    (tmp_path / "cli" / "threshold.config").write_text("suppress gen_id 1, sig_id 5000002\n")
    kube = ("--backend", "kubernetes", "--kubeconfig", str(kubeconfig), "-n", ns)
    assert _run(capsys, "rules", "source", "add", "local", str(source))[0] == 0
    code, out, err = _run(capsys, "rules", "update", *kube)
    assert code == 0, err
    assert f"configmap/dpictl-rules created in namespace {ns}" in out

    agent = RulesDir(tmp_path / "agent")
    sync = RulesConfigMapSync(backend, ns, agent)
    assert sync.sync_once() is True
    assert agent.managed.read_bytes() == (tmp_path / "cli" / "managed.rules").read_bytes()
    assert agent.threshold.read_text() == "suppress gen_id 1, sig_id 5000002\n"
    stamp = version((), agent)
    assert sync.sync_once() is False                      # nothing new: nothing written
    assert version((), agent) == stamp

    assert _run(capsys, "rules", "disable", "5000001")[0] == 0
    (tmp_path / "cli" / "threshold.config").unlink()
    code, out, _ = _run(capsys, "rules", "update", *kube)
    assert code == 0 and f"configmap/dpictl-rules configured in namespace {ns}" in out
    assert sync.sync_once() is True
    assert "# alert tcp any any -> any 80 (msg:\"a\"" in agent.managed.read_text()
    assert not agent.threshold.exists()
    assert version((), agent) != stamp                    # what makes a running agent reload


@pytest.mark.kube
def test_publishing_to_a_missing_namespace_is_one_line(kubeconfig: Path, tmp_path: Path,
                                                        monkeypatch: pytest.MonkeyPatch,
                                                        capsys: pytest.CaptureFixture) -> None:
    monkeypatch.setenv("DPICTL_RULES_DIR", str(tmp_path))
    source = tmp_path / "local.rules"
    source.write_text(RULES)
    _run(capsys, "rules", "source", "add", "local", str(source))
    code, out, err = _run(capsys, "rules", "update", "--backend", "kubernetes",
                          "--kubeconfig", str(kubeconfig), "-n", "dk8-no-such-namespace")
    assert code != 0 and err.startswith("dpictl: error: ") and err.count("\n") == 1
