"""Stand-ins for the engine, rule loader and pcap reader, so the CLI's own logic (order of
store and show, error lines, outputs) is tested without them. Installed with monkeypatch."""

from __future__ import annotations

from dpictl.engine.packet import Detection
from dpictl.errors import PcapError
from dpictl.rules.ast import AddressSpec, PortSpec, Rule
from dpictl.rules.errors import RuleLoadError
from dpictl.rules.ruleset import RuleSet


def rule(sid: int, msg: str = "LAB smk POST") -> Rule:
    return Rule(action="alert", proto="tcp", src=AddressSpec(), src_ports=PortSpec(),
                bidirectional=False, dst=AddressSpec(), dst_ports=PortSpec(), sid=sid, rev=2,
                msg=msg, classtype="trojan-activity", priority=1, text=f"alert ... sid:{sid};")


def load_rules(paths, vars=None):  # noqa: A002 - the real loader's parameter name
    """Each line `sid N` is a rule; any other non-blank line is an error at that line."""
    rules, errors = [], []
    for path in paths:
        for num, text in enumerate(open(path).read().splitlines(), 1):
            if text.startswith("sid "):
                rules.append(rule(int(text.split()[1])))
            elif text.strip():
                errors.append(RuleLoadError(str(path), num, None, "unparseable rule"))
    return RuleSet(rules, errors, total=len(rules) + len(errors))


def builtin_rules(vars=None):  # noqa: A002
    return RuleSet([rule(1000001)], total=1)


class CompiledRuleSet:
    def __init__(self, ruleset):
        self.ruleset = ruleset
        self.compiled = None


def load_compiled(paths, vars=None):  # noqa: A002
    """The real one compiles through the rule cache; this one only parses, as above."""
    import dpictl.rules

    if paths:
        return CompiledRuleSet(dpictl.rules.load_rules(paths, vars))
    return CompiledRuleSet(dpictl.rules.builtin_rules(vars))


class Engine:
    """Alerts on every frame containing b'smk=' for each of its rules; ts 0 frames buffer
    a detection that only flush() releases (like a half-open HTTP request)."""

    def __init__(self, rules, **kw):
        self.rules = rules
        self.pending: list = []

    def _dets(self, ts):
        return [Detection(ts=ts, rule=r, src_ip="10.244.1.10", src_port=43512,
                          dst_ip="10.244.1.11", dst_port=80, proto="TCP", app_proto="http")
                for r in self.rules]

    def feed(self, ts, frame, linktype, iface=None):
        if b"smk=" in frame:
            if ts == 0:
                self.pending += self._dets(1700000000.5)
                return []
            return self._dets(ts)
        return []

    def flush(self):
        out, self.pending = self.pending, []
        return out

    def fork(self):
        return Engine(self.rules)

    stats: dict = {}
    rule_report: list = []


class PcapSource:
    """Frames from a text file: one frame per line `ts payload`; a line `TRUNCATED` raises."""

    def __init__(self, path):
        self.lines = open(path, "rb").read().splitlines()
        self.size = sum(len(x) + 1 for x in self.lines)
        self.position = 0

    def __iter__(self):
        for line in self.lines:
            self.position += len(line) + 1
            if line == b"TRUNCATED":
                raise PcapError("capture.pcap: truncated packet record at byte 120")
            ts, _, payload = line.partition(b" ")
            yield float(ts), payload, 1, None

    def close(self):
        self.lines = []


def open_pcap(path):
    return PcapSource(path)


def install(monkeypatch) -> None:
    import dpictl.capture
    import dpictl.engine
    import dpictl.rules
    import dpictl.rulesets.active

    monkeypatch.setattr(dpictl.rules, "load_rules", load_rules, raising=False)
    monkeypatch.setattr(dpictl.rules, "builtin_rules", builtin_rules, raising=False)
    monkeypatch.setattr(dpictl.engine, "Engine", Engine, raising=False)
    monkeypatch.setattr(dpictl.engine, "load_compiled", load_compiled, raising=False)
    monkeypatch.setattr(dpictl.rulesets.active, "default_compiled",
                        lambda vars=None: load_compiled([], vars))
    monkeypatch.setattr(dpictl.capture, "open_pcap", open_pcap, raising=False)
