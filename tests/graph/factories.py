"""The lab's workloads, flows and alerts, hand-made for the graph tests (no agent needed)."""

from __future__ import annotations

from dpictl.alerts.record import Alert, Endpoint
from dpictl.flowlogs.record import FlowLog
from tests.alerts.factories import make_alert

Workload = tuple[str, str, str]       # (name, namespace, ip); name "" for outside addresses

RED1: Workload = ("red1", "red", "10.0.0.1")
RED2: Workload = ("red2", "red", "10.0.0.2")
BLUE1: Workload = ("blue1", "blue", "10.0.0.3")
BLUE2: Workload = ("blue2", "blue", "10.0.0.4")
OUTSIDE: Workload = ("", "", "203.0.113.9")


def alert(src: Workload, dst: Workload, *, sid: int = 21562, seen: Workload | None = None,
          msg: str = "MALWARE-CNC Win.Trojan.Bredolab variant outbound connection",
          sport: int = 40000, dport: int = 80) -> Alert:
    return make_alert(source_ip=src[2], source_port=sport, dest_ip=dst[2], dest_port=dport,
                      sid=sid, signature=msg, source_name=src[0], source_namespace=src[1],
                      dest_name=dst[0], dest_namespace=dst[1],
                      endpoint=Endpoint(seen[0], seen[1], "cali0") if seen else None)


def flow(src: Workload, dst: Workload, *, reporter: str = "src", port: int = 80,
         proto: str = "tcp", flows: int = 1, forward: tuple[int, int] = (5, 420),
         back: tuple[int, int] = (4, 310)) -> FlowLog:
    """One flow log record; `forward`/`back` are (packets, bytes) source → dest and back,
    put in the in/out fields the way the `reporter` side counts them."""
    mine, theirs = (forward, back) if reporter == "src" else (back, forward)
    return FlowLog(start_time=0.0, end_time=30.0, source_ip=src[2], source_name=src[0] or "-",
                   source_namespace=src[1] or "-", dest_ip=dst[2], dest_name=dst[0] or "-",
                   dest_namespace=dst[1] or "-", dest_port=port, proto=proto,
                   reporter=reporter, num_flows=flows, packets_out=mine[0], bytes_out=mine[1],
                   packets_in=theirs[0], bytes_in=theirs[1])


def lab_alerts() -> list[Alert]:
    """What `run-lab` stores: red1→red2 seen on both red pods, red1→blue1 on red1,
    blue2→red2 on red2, and nothing for blue2→blue1 (no DPI in namespace blue)."""
    return [alert(RED1, RED2, seen=RED1), alert(RED1, RED2, seen=RED2),
            alert(RED1, BLUE1, seen=RED1), alert(BLUE2, RED2, seen=RED2)]


def lab_flows() -> list[FlowLog]:
    """The four lab requests, each reported by both ends as Felix does."""
    pairs = [(RED1, RED2), (RED1, BLUE1), (BLUE2, RED2), (BLUE2, BLUE1)]
    return [flow(s, d, reporter=r) for s, d in pairs for r in ("src", "dst")]
