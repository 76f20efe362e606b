"""The controller with fakes: selection per (resource, interface), fan-out, attribution,
status, pods and resources that come and go. Frames come from the lab's own capture."""

from __future__ import annotations

import pytest

from dpictl.agent.controller import DpiController
from dpictl.agent.selection import MonitorKey
from agent.fakes import (NODE, FakeCapture, FakeEngine, FakeSink, FakeSource, dpi,
                               endpoint, pcap_frames)

RED1 = endpoint("red", "red1", "10.244.1.10", "calired1")
RED2 = endpoint("red", "red2", "10.244.1.11", "calired2")
BLUE1 = endpoint("blue", "blue1", "10.244.1.12", "caliblue1")
ELSEWHERE = endpoint("red", "red9", "10.244.9.9", "calired9", node="other-node")


@pytest.fixture()
def frames(shared_dir):
    return pcap_frames(shared_dir / "pcaps" / "lab-smk.pcap")


def make(resources, endpoints, capture=None):
    source, sink = FakeSource(resources, endpoints), FakeSink()
    ctl = DpiController(source, sink, FakeEngine(), capture or FakeCapture(), node=NODE)
    return ctl, source, sink


def replay(ctl, frames, *ifaces):
    for iface in ifaces:
        for ts, frame in frames:
            if iface in ctl.capture.interfaces:
                ctl.on_frame(ts, frame, 1, iface)
    ctl.drain()


def test_selects_only_own_namespace_and_own_node():
    ctl, _, _ = make([dpi("red", "red-dpi-all")], [RED1, RED2, BLUE1, ELSEWHERE])
    wanted = ctl.reconcile()
    assert set(wanted.monitors) == {MonitorKey("red", "red-dpi-all", "calired1"),
                                    MonitorKey("red", "red-dpi-all", "calired2")}
    assert ctl.capture.interfaces == {"calired1", "calired2"}


def test_selector_labels_narrow_the_selection():
    ctl, _, _ = make([dpi("red", "only-red2", "app == 'red2'")], [RED1, RED2])
    ctl.reconcile()
    assert ctl.capture.interfaces == {"calired2"}


def test_packet_crossing_two_inspected_interfaces_alerts_on_both(frames):
    ctl, _, sink = make([dpi("red", "red-dpi-all")], [RED1, RED2, BLUE1])
    ctl.reconcile()
    replay(ctl, frames, "calired1", "calired2")
    assert len(sink.alerts) == 2
    by_ep = {a.endpoint.name: a for a in sink.alerts}
    assert set(by_ep) == {"red1", "red2"}
    assert by_ep["red1"].endpoint.role == "source"
    assert by_ep["red2"].endpoint.role == "destination"
    assert by_ep["red2"].endpoint.interface == "calired2"
    for a in sink.alerts:
        assert a.origin == "dpi.red/red-dpi-all"
        assert a.host == NODE
        assert (a.source_name, a.source_namespace) == ("red1", "red")
        assert (a.dest_name, a.dest_namespace) == ("red2", "red")


def test_each_interface_has_its_own_engine_fork():
    """Two resources selecting the same pods share one inspection per interface (they would
    see the same packets); each still gets its own alert (next test)."""
    engine = FakeEngine()
    source = FakeSource([dpi("red", "a"), dpi("red", "b")], [RED1, RED2])
    ctl = DpiController(source, FakeSink(), engine, FakeCapture(), node=NODE)
    ctl.reconcile()
    assert engine.shared["forks"] == 2      # 2 interfaces, whatever the resources


def test_two_resources_on_one_interface_alert_twice(frames):
    ctl, _, sink = make([dpi("red", "a"), dpi("red", "b", "app == 'red1'")], [RED1, RED2])
    ctl.reconcile()
    replay(ctl, frames, "calired1")
    assert sorted(a.origin for a in sink.alerts) == ["dpi.red/a", "dpi.red/b"]


def test_uninspected_namespace_gives_no_alert(frames):
    ctl, _, sink = make([dpi("red", "red-dpi-all")], [RED1, RED2, BLUE1])
    ctl.reconcile()
    replay(ctl, frames, "caliblue1")
    assert sink.alerts == []


def test_pod_added_later_is_picked_up_and_removed_pod_is_dropped(frames):
    ctl, source, sink = make([dpi("red", "red-dpi-all")], [RED1])
    ctl.reconcile()
    assert ctl.capture.interfaces == {"calired1"}
    source._endpoints.append(RED2)
    ctl.reconcile()
    assert ctl.capture.interfaces == {"calired1", "calired2"}
    source._endpoints.remove(RED1)
    ctl.reconcile()
    assert ctl.capture.interfaces == {"calired2"}
    replay(ctl, frames, "calired2")
    assert [a.endpoint.name for a in sink.alerts] == ["red2"]


def test_resource_deleted_stops_its_monitors():
    engine = FakeEngine()
    source = FakeSource([dpi("red", "red-dpi-all")], [RED1, RED2])
    ctl = DpiController(source, FakeSink(), engine, FakeCapture(), node=NODE)
    ctl.reconcile()
    source._resources.clear()
    ctl.reconcile()
    assert ctl.capture.interfaces == set()
    assert engine.shared["flushes"] == 2     # each fork flushed its half-open state


def test_status_success_written_once_per_change():
    ctl, source, _ = make([dpi("red", "red-dpi-all")], [RED1, RED2])
    ctl.reconcile()
    ctl.reconcile()
    assert source.statuses == [("red/red-dpi-all", True, None)]
    node = source._resources[0]["status"]["nodes"][0]
    assert node["node"] == NODE and node["active"]["success"] is True


def test_status_false_when_nothing_selected():
    ctl, source, _ = make([dpi("blue", "nothing-here")], [RED1])
    ctl.reconcile()
    assert source.statuses == [("blue/nothing-here", False, None)]


def test_capture_failure_is_an_error_condition_and_retried():
    capture = FakeCapture(fail={"calired2"})
    ctl, source, _ = make([dpi("red", "red-dpi-all")], [RED1, RED2], capture)
    ctl.reconcile()
    key, success, error = source.statuses[-1]
    assert success is False
    assert "failed to start DPI for resource red/red-dpi-all on WEP interface calired2" in error
    assert capture.interfaces == {"calired1"}
    capture.fail.clear()
    ctl.reconcile()
    assert capture.interfaces == {"calired1", "calired2"}
    assert source.statuses[-1] == ("red/red-dpi-all", True, None)
    errors = source._resources[0]["status"]["nodes"][0]["errorConditions"]
    assert len(errors) == 1


def test_bad_selector_is_reported_not_fatal():
    bad = dpi("red", "bad", "app == ")
    ctl, source, _ = make([bad, dpi("red", "good")], [RED1])
    ctl.reconcile()
    assert ctl.capture.interfaces == {"calired1"}
    bad_reports = [s for s in source.statuses if s[0] == "red/bad"]
    assert bad_reports and bad_reports[0][1] is False and "selector" in bad_reports[0][2]


def test_shutdown_reports_inactive_and_stops_capture():
    ctl, source, _ = make([dpi("red", "red-dpi-all")], [RED1])
    ctl.reconcile()
    ctl.shutdown()
    assert ctl.capture.interfaces == set()
    assert source.statuses[-1] == ("red/red-dpi-all", False, None)


def test_engine_error_on_a_frame_does_not_stop_inspection(frames):
    class Exploding(FakeEngine):
        def fork(self):
            return Exploding(self.shared)

        def feed(self, *a, **k):
            raise RuntimeError("boom")

    source, sink = FakeSource([dpi("red", "x")], [RED1]), FakeSink()
    ctl = DpiController(source, sink, Exploding(), FakeCapture(), node=NODE)
    ctl.reconcile()
    replay(ctl, frames, "calired1")
    assert sink.alerts == []
    assert ctl.snapshot()["monitors"][0]["packets"] == len(frames)


def test_capture_error_counts_only_while_the_pod_is_still_selected():
    ctl, source, _ = make([dpi("red", "red-dpi-all")], [RED1, RED2])
    ctl.reconcile()
    # both veths fail; red1 was deleted meanwhile, red2 is still there
    ctl.capture.interfaces.clear()
    ctl.on_capture_error("calired1", "cannot capture on calired1: gone")
    ctl.on_capture_error("calired2", "cannot capture on calired2: gone")
    source._endpoints.remove(RED1)
    ctl.capture.fail.add("calired2")
    ctl.reconcile()
    errors = [e for _, _, e in source.statuses if e]
    assert any("calired2" in e for e in errors)
    assert not any("calired1" in e for e in errors)
    assert source.statuses[-1][1] is False


def test_alerts_the_sink_refuses_are_retried_not_lost(frames):
    class Flaky(FakeSink):
        def __init__(self):
            super().__init__()
            self.fail = True

        def add(self, alerts):
            if self.fail:
                raise OSError("database is locked")
            return super().add(alerts)

    source, sink = FakeSource([dpi("red", "red-dpi-all")], [RED1, RED2]), Flaky()
    ctl = DpiController(source, sink, FakeEngine(), FakeCapture(), node=NODE)
    ctl.reconcile()
    replay(ctl, frames, "calired1")
    assert sink.alerts == [] and ctl.alerts_total == 0
    assert "database is locked" in ctl.last_error
    sink.fail = False
    assert ctl.drain() == 1
    assert [a.endpoint.name for a in sink.alerts] == ["red1"] and ctl.alerts_total == 1


def test_kernel_drops_become_an_error_condition_per_resource_and_show_in_the_snapshot():
    now = [1000.0]
    capture = FakeCapture()
    source, sink = FakeSource([dpi("red", "red-dpi-all")], [RED1, RED2]), FakeSink()
    ctl = DpiController(source, sink, FakeEngine(), capture, node=NODE, clock=lambda: now[0])
    ctl.reconcile()
    assert source.statuses == [("red/red-dpi-all", True, None)]
    capture.counts = {"calired1": {"kernel_packets": 500, "kernel_drops": 0},
                      "calired2": {"kernel_packets": 900, "kernel_drops": 40}}
    ctl.reconcile()
    key, success, error = source.statuses[-1]
    assert success is True                       # still inspecting, but not everything
    assert "40 packets dropped on WEP interface calired2 (red/red2)" in error
    assert "40 of 900" in error
    snap = {m["interface"]: m for m in ctl.snapshot()["monitors"]}
    assert (snap["calired2"]["kernel_packets"], snap["calired2"]["kernel_drops"]) == (900, 40)
    assert snap["calired1"]["kernel_drops"] == 0
    # more drops within the report interval: not reported again yet; after it, reported
    capture.counts["calired2"] = {"kernel_packets": 1000, "kernel_drops": 55}
    reports = len(source.statuses)
    ctl.reconcile()
    assert len(source.statuses) == reports
    now[0] += 31
    ctl.reconcile()
    assert "15 packets dropped on WEP interface calired2" in source.statuses[-1][2]
    errors = source._resources[0]["status"]["nodes"][0]["errorConditions"]
    assert len(errors) == 2


def test_selected_interfaces_are_this_nodes_selection_before_any_monitor_starts():
    source = FakeSource([dpi("red", "red-dpi-all")], [RED1, RED2, BLUE1, ELSEWHERE])
    capture = FakeCapture()
    ctl = DpiController(source, FakeSink(), FakeEngine(), capture, node=NODE)
    assert ctl.selected_interfaces() == {"calired1", "calired2"}
    assert capture.interfaces == set()          # asking starts nothing
