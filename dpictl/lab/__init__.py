"""Lab scenarios as data, and the runner that plays them on any backend and checks the alerts."""

from __future__ import annotations

from dpictl.lab.builders import Lab, open_lab
from dpictl.lab.environment import LabEnvironment
from dpictl.lab.report import LabReport, StepResult, TrafficResult
from dpictl.lab.runner import run_scenario, set_up_scenario
from dpictl.lab.scenario import Scenario
from dpictl.lab.scenario_file import load_scenario, parse_scenario
from dpictl.lab.status import lab_status, remove_dead_run, take_down

__all__ = ["Scenario", "load_scenario", "parse_scenario", "LabEnvironment", "Lab", "open_lab",
           "LabReport", "StepResult", "TrafficResult", "run_scenario", "set_up_scenario",
           "lab_status", "take_down", "remove_dead_run"]
