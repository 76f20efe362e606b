"""The agent reloads when `rules update` or a policy edit replaces the managed ruleset, and the
capture is never closed: the interface stays in the source and no packet goes uninspected."""

from __future__ import annotations

from pathlib import Path

import pytest

from agent.fakes import QueueSource, dpi
from agent.test_runtime import RED1, Harness, wait_for
from dpictl.agent.runtime import build_engine
from dpictl.rulesets.layout import write_atomically

SMK = 'alert tcp any any -> any 80 (msg:"managed smk"; content:"smk="; sid:5000001; rev:1;)\n'


@pytest.fixture()
def managed(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> Path:
    monkeypatch.setenv("DPICTL_RULES_DIR", str(tmp_path))
    path = tmp_path / "managed.rules"
    write_atomically(path, SMK.encode())
    return path


def test_policy_change_reloads_without_closing_the_capture(managed: Path, shared_dir: Path,
                                                           monkeypatch: pytest.MonkeyPatch):
    from agent.fakes import pcap_frames

    frames = pcap_frames(shared_dir / "pcaps" / "lab-smk.pcap")
    removed: list[str] = []
    monkeypatch.setattr(QueueSource, "remove", lambda self, iface: removed.append(iface))
    loads: list[int] = []

    def engines(paths):
        loaded = build_engine(paths)
        loads.append(loaded.rules)
        return loaded

    h = Harness([dpi("red", "red-dpi-all")], [RED1])
    h.runtime.engine_factory = engines
    with h:
        h.send(frames, "calired1")
        assert wait_for(lambda: {a.sid for a in h.sink.alerts} == {1000001, 5000001})
        builtin = loads[0] - 1
        write_atomically(managed, ("# " + SMK).encode())          # the rule disabled
        assert wait_for(lambda: loads == [builtin + 1, builtin], timeout=30)
        assert wait_for(lambda: h.published[-1]["rules"]["loaded"] == builtin)
        before = len(h.sink.alerts)
        h.send(frames, "calired1")
        assert wait_for(lambda: len(h.sink.alerts) == before + 1)
        assert h.sink.alerts[-1].sid == 1000001
        write_atomically(managed, SMK.encode())                    # and enabled again
        assert wait_for(lambda: len(loads) == 3, timeout=30)
        assert wait_for(lambda: h.published[-1]["rules"]["loaded"] == builtin + 1)
        h.send(frames, "calired1")
        assert wait_for(lambda: {a.sid for a in h.sink.alerts[before + 1:]} ==
                        {1000001, 5000001})
        assert len(h.sources) == 1 and removed == []               # one capture, never closed
    assert h.runtime.stop_event.is_set()


def test_a_broken_threshold_config_does_not_stop_the_agent(managed: Path, caplog) -> None:
    (managed.parent / "threshold.config").write_text("suppress gen_id 1\n")
    loaded = build_engine(())
    assert loaded.rules > 1 and "threshold.config not applied" in caplog.text
    (managed.parent / "threshold.config").write_text("suppress gen_id 1, sig_id 5000001\n")
    assert build_engine(()).engine is not None
