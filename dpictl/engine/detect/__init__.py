"""Rules in, verdicts out: compiled signatures, prefilter and keyword evaluation."""

from dpictl.engine.detect.detector import Detector
from dpictl.engine.detect.ruleset import CompiledRules, RuleProblem, compile_rules
from dpictl.engine.detect.signature import Signature, SignatureRejected, compile_rule
from dpictl.engine.detect.thresholds import ThresholdTable

__all__ = ["Detector", "CompiledRules", "RuleProblem", "compile_rules", "Signature",
           "SignatureRejected", "compile_rule", "ThresholdTable"]
