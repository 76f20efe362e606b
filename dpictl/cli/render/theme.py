"""Named styles, so every command colours the same thing the same way (and one place changes it)."""

from __future__ import annotations

from rich.theme import Theme

# Snort priority 1 is the most urgent.
SEVERITY_STYLES = {
    1: "bold red",
    2: "dark_orange",
    3: "yellow",
    4: "dim",
}

THEME = Theme({
    "alert.time": "dim",
    "alert.origin": "cyan",
    "alert.endpoint": "magenta",
    "alert.source": "green",
    "alert.dest": "blue",
    "alert.sid": "bold",
    "alert.severity.1": SEVERITY_STYLES[1],
    "alert.severity.2": SEVERITY_STYLES[2],
    "alert.severity.3": SEVERITY_STYLES[3],
    "alert.severity.4": SEVERITY_STYLES[4],
    "summary": "bold",
    "summary.bad": "bold red",
    "warning": "yellow",
})


def severity_style(priority: int) -> str:
    """Style name for a Snort priority (clamped to 1..4)."""
    return f"alert.severity.{min(max(int(priority or 3), 1), 4)}"


__all__ = ["THEME", "SEVERITY_STYLES", "severity_style"]
