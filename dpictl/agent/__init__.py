"""The DPI agent: DeepPacketInspection resources x endpoints -> captures -> alerts.

Light on purpose (the daemon imports this package before installing its signal handlers):
the daemon controls are imported here, the loop itself from `dpictl.agent.runtime`.
"""

from __future__ import annotations

from dpictl.agent.daemon import (agent_status, configure_agent, ensure_agent, read_config,
                                 stop_agent)

__all__ = ["ensure_agent", "stop_agent", "agent_status", "configure_agent", "read_config"]
