"""The sans-I/O detection engine: frames in, detections out (`Engine`)."""

from dpictl.engine.contract import InspectionEngine
from dpictl.engine.detect import RuleProblem
from dpictl.engine.packet import Detection, Packet
from dpictl.engine.pipeline import Engine
from dpictl.engine.rule_cache import CompiledRuleSet, load_compiled

__all__ = ["Engine", "InspectionEngine", "Detection", "Packet", "RuleProblem", "CompiledRuleSet",
           "load_compiled"]
