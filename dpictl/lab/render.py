"""Rich renderables for a lab report and `lab status` (built here, printed by the CLI).

Kept apart from the records in `report.py`: those stay plain for JSON and tests; this module
only turns them into tables. The alerts table itself is the CLI's (`cli/render/table.py`),
so lab alerts look exactly like `dpictl alerts list`.
"""

from __future__ import annotations

import time

from rich import box
from rich.console import Group, RenderableType
from rich.table import Table
from rich.text import Text

from dpictl.lab.report import FAILED, OK, SKIPPED, LabReport, StepResult

_MARK = {OK: ("✓", "green"), FAILED: ("✗", "bold red"), SKIPPED: ("-", "dim")}


def step_line(result: StepResult) -> Text:
    mark, style = _MARK.get(result.status, ("?", ""))
    line = Text()
    line.append(f"{mark} ", style=style)
    line.append(result.name, style="bold" if result.status != SKIPPED else "dim")
    if result.status != SKIPPED:
        line.append(f"  {result.seconds:.1f}s", style="dim")
    if result.detail:
        line.append(f"  {result.detail}", style="red" if result.status == FAILED else "dim")
    return line


def traffic_table(report: LabReport) -> Table:
    table = Table(box=box.SIMPLE_HEAD, title="Traffic: expected vs seen", title_justify="left")
    for header in ("TRAFFIC", "FROM", "TO", "EXPECTED", "SEEN", "ENDPOINTS SEEN", "SIDS",
                   "RESULT"):
        table.add_column(header, no_wrap=header in ("TRAFFIC", "RESULT"))
    for t in report.traffic:
        expected = "-" if t.expected_alerts is None else str(t.expected_alerts)
        if t.expected_endpoints:
            expected += " (" + ", ".join(t.expected_endpoints) + ")"
        if not t.checked:
            result = Text("not checked", style="yellow")
        elif t.passed:
            result = Text("pass", style="green")
        else:
            result = Text("FAIL: " + "; ".join(t.problems), style="bold red")
        table.add_row(t.name, f"{t.source} {t.source_ip}", f"{t.target} {t.target_ip}",
                      expected, str(t.seen_alerts), ", ".join(t.seen_endpoints) or "-",
                      ", ".join(map(str, t.seen_sids)) or "-", result)
    return table


def verdict(report: LabReport) -> RenderableType:
    head = Text()
    if report.interrupted:
        head.append(f"INTERRUPTED  scenario {report.scenario}", style="bold red")
    elif report.passed:
        head.append(f"PASSED  scenario {report.scenario}", style="bold green")
    else:
        head.append(f"FAILED  scenario {report.scenario}", style="bold red")
    head.append(f"  ({report.backend} backend, rules: {', '.join(report.rules)}, expected SID "
                f"{' or '.join(map(str, report.expected_sids)) or 'any'}, "
                f"{report.seconds:.1f}s)", style="dim")
    parts: list[RenderableType] = [head]
    for problem in report.failures():
        parts.append(Text(f"  ✗ {problem}", style="red"))
    for note in report.notes:
        parts.append(Text(f"  note: {note}", style="yellow"))
    for dpi in report.dpi_status:
        nodes = ", ".join(f"{n.get('node', '?')}: "
                          f"{'active' if (n.get('active') or {}).get('success') else 'inactive'}"
                          for n in dpi["nodes"]) or "no node reports it yet"
        parts.append(Text(f"  DPI {dpi['resource']}: {nodes}",
                          style="green" if dpi["active"] else "red"))
    for line in report.cleanup:
        parts.append(Text(f"  cleanup: {line}", style="dim"))
    if report.kept:
        parts.append(Text("  kept: take it down with `dpictl lab down`", style="yellow"))
    return Group(*parts)


def _supervision(supervisor: dict | None) -> str:
    """The agent's supervisor: restarts so far, why the last agent ended, when the next."""
    if supervisor is None:               # a backend whose agent is not ours (kubernetes)
        return ""
    if not supervisor.get("running"):
        return "\n  not supervised: `dpictl lab down` and up again, or `dpictl apply`, starts it"
    text = ""
    if supervisor.get("restarts"):
        n = supervisor["restarts"]
        text += f"\n  restarted {n} time{'s' if n != 1 else ''}; last: {supervisor['last_exit']}"
    if supervisor.get("state") == "restarting" and supervisor.get("restart_at"):
        wait = max(0.0, supervisor["restart_at"] - time.time())
        text += f"\n  restarting it in {wait:.0f}s"
    return text


def status_tables(status: dict) -> list[RenderableType]:
    out: list[RenderableType] = []
    pods = Table(box=box.SIMPLE_HEAD, title="Pods", title_justify="left")
    for header in ("NAMESPACE", "NAME", "IP", "INTERFACE", "NODE"):
        pods.add_column(header)
    for p in status["pods"]:
        pods.add_row(p["namespace"], p["name"], p["ip"], p["interface"], p["node"])
    out.append(Text("Namespaces: " + (", ".join(status["namespaces"]) or "none"), style="bold"))
    out.append(pods if status["pods"] else Text("Pods: none", style="bold"))
    dpi = Table(box=box.SIMPLE_HEAD, title="DeepPacketInspection", title_justify="left")
    for header in ("NAMESPACE", "NAME", "SELECTOR", "ACTIVE", "ERRORS"):
        dpi.add_column(header)
    for d in status["dpi"]:
        dpi.add_row(d["namespace"], d["name"], d["selector"], d["active"], str(d["errors"]))
    out.append(dpi if status["dpi"] else Text("DeepPacketInspection: none", style="bold"))
    agent = status["agent"]
    lines = Text()
    if agent.get("running"):
        lines.append(f"Agent: running, pid {agent['pid']}", style="bold green")
    else:
        lines.append("Agent: not running, nothing is inspected", style="bold red")
    lines.append(_supervision(agent.get("supervisor")), style="yellow")
    limits = agent.get("limits") or {}
    if limits:
        lines.append(f"\n  cpu limit: {limits.get('cpu', '-')}\n  memory limit: "
                     f"{limits.get('memory', '-')}")
    if agent.get("rss_bytes"):
        lines.append(f"\n  memory in use: {agent['rss_bytes'] / 2**20:.0f} MiB")
    rules = agent.get("rules")
    if isinstance(rules, dict):
        lines.append(f"\n  rules: {', '.join(rules.get('paths') or [])} "
                     f"({rules.get('loaded', '?')} loaded, {rules.get('errors', 0)} not loaded)")
    for m in agent.get("monitors") or []:
        lines.append(f"\n  inspecting {m['endpoint']} on {m['interface']} for {m['resource']}"
                     f" ({m['packets']} packets, {m['alerts']} alerts")
        drops = m.get("kernel_drops", 0)
        if "kernel_packets" in m:
            lines.append(f"; kernel {m['kernel_packets']} packets, ")
            lines.append(f"{drops} dropped", style="bold red" if drops else "")
        lines.append(")")
    if agent.get("last_error"):
        lines.append(f"\n  last error: {agent['last_error']}", style="red")
    out.append(lines)
    counts = status["alerts"]
    text = Text(f"Alerts: {counts['total']}", style="bold")
    for origin, n in sorted(counts["by_origin"].items()):
        text.append(f"\n  {origin or '(no origin)'}: {n}")
    out.append(text)
    return out


__all__ = ["step_line", "traffic_table", "verdict", "status_tables"]
