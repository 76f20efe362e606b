"""`lab status` on a dead agent: it says nothing is inspected, lists no endpoint as inspected,
and says what its supervisor does (restarts so far, the last exit, the next restart)."""

from __future__ import annotations

import io
import time

from rich.console import Console

from dpictl.lab.render import status_tables


def _text(agent: dict) -> str:
    status = {"backend": "local", "namespaces": ["red"], "pods": [], "dpi": [],
              "agent": agent, "alerts": {"total": 0, "by_origin": {}}}
    console = Console(width=200, record=True, file=io.StringIO())
    for part in status_tables(status):
        console.print(part)
    return console.export_text()


def test_a_dead_supervised_agent_shows_its_restart():
    text = _text({"running": False, "pid": None, "monitors": [],
                  "supervisor": {"running": True, "pid": 42, "state": "restarting",
                                 "restarts": 2, "restart_at": time.time() + 3.6,
                                 "last_exit": "agent pid 7 was killed by SIGKILL"}})
    assert "Agent: not running, nothing is inspected" in text
    assert "restarted 2 times; last: agent pid 7 was killed by SIGKILL" in text
    assert "restarting it in 4s" in text or "restarting it in 3s" in text
    assert "inspecting" not in text


def test_an_unsupervised_agent_says_how_to_start_it():
    text = _text({"running": False, "pid": None, "monitors": [],
                  "supervisor": {"running": False, "pid": None}})
    assert "not supervised" in text and "dpictl apply" in text


def test_a_running_agent_after_restarts_shows_both():
    text = _text({"running": True, "pid": 9, "monitors": [
        {"resource": "red/dpi", "endpoint": "red/red1", "interface": "cali1", "packets": 3,
         "alerts": 1}],
        "supervisor": {"running": True, "pid": 42, "state": "running", "restarts": 1,
                       "last_exit": "agent pid 7 exited with code 1"}})
    assert "Agent: running, pid 9" in text and "inspecting red/red1 on cali1" in text
    assert "restarted 1 time; last" in text and "restarting it in" not in text
