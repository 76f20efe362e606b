"""`python -m dpictl.agent run|supervise --db PATH`: the local agent daemon, and its supervisor
(which ensure_agent starts, and which runs the agent).

SIGHUP is ignored before anything heavy is imported: `ensure_agent` may signal a daemon
that is still starting, and the default action of SIGHUP would kill it. The loop installs
its real handler (reload + reconcile) once it runs.
"""

from __future__ import annotations

import signal

signal.signal(signal.SIGHUP, signal.SIG_IGN)

import argparse  # noqa: E402 - after the signal set-up on purpose
import logging  # noqa: E402
import sys  # noqa: E402


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(prog="python -m dpictl.agent",
                                     description="dpictl DPI agent daemon (local backend)")
    sub = parser.add_subparsers(dest="command", required=True)
    run = sub.add_parser("run", help="run the agent for one state database")
    run.add_argument("--db", required=True, help="the state database (SQLite file)")
    run.add_argument("--log-level", default="INFO")
    supervise = sub.add_parser("supervise", help="run the agent, restarting it when it dies")
    supervise.add_argument("--db", required=True, help="the state database (SQLite file)")
    supervise.add_argument("--log-level", default="INFO")
    args = parser.parse_args(argv)
    logging.basicConfig(level=getattr(logging, args.log_level.upper(), logging.INFO),
                        format="%(asctime)s %(levelname)s %(name)s: %(message)s")
    from dpictl.agent.local_agent import run_local_agent
    from dpictl.agent.supervisor import run_supervisor
    from dpictl.errors import DpictlError

    try:
        if args.command == "supervise":
            return run_supervisor(args.db)
        return run_local_agent(args.db)
    except DpictlError as err:
        logging.getLogger("dpictl.agent").error("%s", err)
        return int(err.exit_code)


if __name__ == "__main__":
    sys.exit(main())
