"""The agent loop with fakes: frames in -> alerts out, reload, settings -> limits, clean stop,
and a capture source that fails (a pod vanishing mid-capture) without ending the agent."""

from __future__ import annotations

import threading
import time

import pytest

from agent.fakes import (FakeEngine, FakeSink, FakeSource, QueueSource, dpi, endpoint,
                         pcap_frames)
from dpictl.agent.capture_loop import CaptureLoop
from dpictl.agent.runtime import AgentRuntime, LoadedRules
from dpictl.agent.sources import AgentSettings

RED1 = endpoint("red", "red1", "10.244.1.10", "calired1")
RED2 = endpoint("red", "red2", "10.244.1.11", "calired2")


def wait_for(cond, timeout=5.0):
    deadline = time.monotonic() + timeout
    while time.monotonic() < deadline:
        if cond():
            return True
        time.sleep(0.02)
    return False


class Harness:
    def __init__(self, resources, endpoints, fail_open=None):
        self.source = FakeSource(resources, endpoints)
        self.sink = FakeSink()
        self.sources: list[QueueSource] = []
        self.published: list[dict] = []
        self.loads: list[tuple] = []
        self.fail_open = fail_open or set()

        def open_source(ifaces, on_vanished=None):
            bad = [i for i in ifaces if i in self.fail_open]
            if bad:
                raise OSError(f"cannot bind to {bad[0]}: No such device")
            src = QueueSource(ifaces)
            self.sources.append(src)
            return src

        def engines(paths):
            self.loads.append(tuple(paths))
            return LoadedRules(FakeEngine(), tuple(str(p) for p in paths), 1, 0, 0.0)

        self.paths: tuple = ()
        self.runtime = AgentRuntime(source=self.source, sink=self.sink, node="dagl-node",
                                    capture_factory=open_source, rule_paths=lambda: self.paths,
                                    engine_factory=engines, publish=self.published.append,
                                    reconcile_interval=0.05, workers=1)
        self.thread = threading.Thread(target=self.runtime.run, daemon=True)

    def __enter__(self):
        self.thread.start()
        return self

    def __exit__(self, *exc):
        self.runtime.stop()
        self.thread.join(5)
        assert not self.thread.is_alive()

    def send(self, frames, iface):
        assert wait_for(lambda: self.sources and iface in self.sources[-1].ifaces)
        for ts, frame in frames:
            self.sources[-1].put(ts, frame, iface)


@pytest.fixture()
def frames(shared_dir):
    return pcap_frames(shared_dir / "pcaps" / "lab-smk.pcap")


def test_frames_become_committed_alerts_on_both_interfaces(frames):
    with Harness([dpi("red", "red-dpi-all")], [RED1, RED2]) as h:
        h.send(frames, "calired1")
        h.send(frames, "calired2")
        assert wait_for(lambda: len(h.sink.alerts) == 2)
    assert {a.endpoint.name for a in h.sink.alerts} == {"red1", "red2"}
    final = h.published[-1]
    assert final["running"] is False and final["alerts"] == 2


def test_status_snapshot_lists_monitors(frames):
    with Harness([dpi("red", "red-dpi-all")], [RED1]) as h:
        assert wait_for(lambda: h.published and h.published[-1]["monitors"])
        snap = h.published[-1]
        assert snap["monitors"][0]["interface"] == "calired1"
        assert snap["rules"]["paths"] == ["builtin"]


def test_reload_rebuilds_engine_only_when_rules_change():
    with Harness([dpi("red", "red-dpi-all")], [RED1]) as h:
        assert wait_for(lambda: h.published)
        h.runtime.request_reload()
        time.sleep(0.2)
        assert h.loads == [()]
        h.paths = ("/x.rules",)
        h.runtime.request_reload()
        assert wait_for(lambda: h.loads == [(), ("/x.rules",)])


def test_vanished_interface_does_not_stop_the_agent(frames):
    with Harness([dpi("red", "red-dpi-all")], [RED1, RED2]) as h:
        assert wait_for(lambda: h.sources and h.sources[-1].ifaces == {"calired1", "calired2"})
        # red1 is deleted: its veth vanishes, the source dies and cannot reopen on it.
        h.fail_open.add("calired1")
        h.source._endpoints.remove(RED1)
        before = len(h.sources)
        h.sources[-1].stop()
        assert wait_for(lambda: len(h.sources) > before)
        h.send(frames, "calired2")
        assert wait_for(lambda: len(h.sink.alerts) == 1)
        assert h.thread.is_alive()


def test_settings_change_reapplies_limits():
    applied = []

    class Limits:
        def apply(self, cpu, mem):
            applied.append((cpu, mem))

            class A:
                def to_dict(self_inner):
                    return {"cpu": f"{cpu}m", "memory": str(mem), "cgroups": []}
            return A()

        def release(self):
            applied.append("released")

    h = Harness([dpi("red", "red-dpi-all")], [RED1])
    h.runtime.limits = Limits()
    with h:
        assert wait_for(lambda: applied == [(None, None)])
        h.source.settings_value = AgentSettings(cpu="1", memory="1Gi", flush_interval=30)
        assert wait_for(lambda: (1000, 2**30) in applied)
        assert wait_for(lambda: h.published and h.published[-1]["limits"]["cpu"] == "1000m")
    assert applied[-1] == "released"


def test_capture_loop_reports_interfaces_that_cannot_open():
    errors = []
    opened = []

    def open_source(ifaces, on_vanished=None):
        if "gone0" in ifaces:
            raise OSError("gone0: No such device")
        src = QueueSource(ifaces)
        opened.append(src)
        return src

    loop = CaptureLoop(open_source, lambda *a: None, lambda i, m: errors.append((i, m)),
                       retry=0.05)
    with pytest.raises(OSError):
        loop.add("gone0")           # synchronous: the caller learns at once
    loop.add("ok0")
    loop.add("ok1")
    assert opened[-1].ifaces == {"ok0", "ok1"} and len(opened) == 1
    # ok1 vanishes: the source dies, reopening skips ok1 and reports it
    fail = {"ok1"}

    def reopen(ifaces, on_vanished=None):
        if fail & set(ifaces):
            raise OSError("ok1: No such device")
        return open_source(ifaces)
    loop._open = reopen
    opened[-1].stop()
    assert wait_for(lambda: len(opened) == 2)
    assert opened[-1].ifaces == {"ok0"}
    assert ("ok1", "cannot capture on ok1: ok1: No such device") in errors
    assert loop.interfaces == {"ok0"}
    loop.stop()
    assert opened[-1].closed


def test_stop_flushes_half_open_detections_into_the_sink():
    """SIGTERM path: what the engines hold back (e.g. a request still open) is flushed,
    turned into alerts and committed before the loop returns."""
    from dpictl.engine.packet import Detection
    from agent.fakes import SMK_RULE

    class Holding(FakeEngine):
        def fork(self):
            return Holding(self.shared)

        def flush(self):
            return [Detection(ts=1.0, rule=SMK_RULE, src_ip="10.244.1.10", src_port=1,
                              dst_ip="10.244.1.11", dst_port=80, proto="TCP")]

    h = Harness([dpi("red", "red-dpi-all")], [RED1])
    h.runtime.engine_factory = lambda paths: LoadedRules(Holding(), (), 1, 0, 0.0)
    with h:
        assert wait_for(lambda: h.published and h.published[-1]["monitors"])
    assert [(a.endpoint.name, a.sid) for a in h.sink.alerts] == [("red1", SMK_RULE.sid)]
    assert h.published[-1]["running"] is False and h.published[-1]["alerts"] == 1
