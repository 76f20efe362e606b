"""How long `dpictl rules update` takes on the community ruleset, and how long an agent's
capture thread pauses when it swaps in reloaded rules.

Serves a .tar.gz of shared/rules/snort3-community.rules (built in a scratch directory, never
in the repo) from http.server on loopback and times, through the library `dpictl rules
update` calls:

* the first update (download, merge, policy, parse+compile check, atomic write),
* a second one (a 304: nothing downloaded, everything else again),
* a policy edit (`rules disable 21562`: rebuilt from the cache, no network).

Then the reload pause: an Engine fork fed the first half of a pcap (so its flows and streams
hold state), and the two steps of `DpiController.set_engine`: `fork()` of the new engine (on
the controller thread, capture keeps running) and `flush()` of the old one (on the capture
thread, between two packets: the only pause). This is a measurement script, not a test.

    .venv/bin/python benchmarks/bench_rules_update.py [--pcap shared/pcaps/ec-ultra_lab_03-14.pcap]
"""

from __future__ import annotations

import argparse
import io
import os
import statistics
import tarfile
import tempfile
import threading
import time
from functools import partial
from http.server import SimpleHTTPRequestHandler, ThreadingHTTPServer
from pathlib import Path

SHARED = Path(__file__).resolve().parents[2] / "shared"


class _Quiet(SimpleHTTPRequestHandler):
    def log_message(self, *args) -> None:
        pass


def _serve(directory: Path) -> ThreadingHTTPServer:
    server = ThreadingHTTPServer(("127.0.0.1", 0), partial(_Quiet, directory=str(directory)))
    threading.Thread(target=server.serve_forever, daemon=True).start()
    return server


def _tarball(dest: Path) -> None:
    data = (SHARED / "rules" / "snort3-community.rules").read_bytes()
    info = tarfile.TarInfo("rules/snort3-community.rules")
    info.size = len(data)
    with tarfile.open(dest, "w:gz") as tar:
        tar.addfile(info, io.BytesIO(data))


def bench_update(scratch: Path) -> None:
    os.environ["DPICTL_RULES_DIR"] = str(scratch / "rules")
    from dpictl.rulesets import RulesDir
    from dpictl.rulesets.edit import edit_policy
    from dpictl.rulesets.sources import add_source
    from dpictl.rulesets.update import update

    _tarball(scratch / "community.tar.gz")
    server = _serve(scratch)
    rules = RulesDir.default()
    add_source(rules, "community", f"http://127.0.0.1:{server.server_address[1]}/"
                                   "community.tar.gz")
    for label, run in (("first update", lambda: update(rules)),
                       ("update, 304", lambda: update(rules)),
                       ("disable 21562", lambda: edit_policy(rules, "disable", ["21562"])[1])):
        started = time.perf_counter()
        report = run()
        wall = time.perf_counter() - started
        s = report.seconds
        print(f"{label:<14} {wall:6.2f} s wall  (fetch {s['fetch']:.2f}, merge+policy "
              f"{s['merge']:.2f}, parse+compile check {s['check']:.2f}); "
              f"{report.enabled} of {report.total} rules enabled")
    server.shutdown()


def bench_reload(pcap: Path, repeats: int) -> None:
    from dpictl.capture import open_pcap
    from dpictl.engine import Engine
    from dpictl.rulesets.active import default_ruleset

    rules = default_ruleset().rules
    frames = [item[:3] for item in open_pcap(str(pcap))]
    half = frames[: len(frames) // 2]
    base = Engine(rules)
    forks, flushes = [], []
    for _ in range(repeats):
        old = base.fork()
        for ts, frame, linktype in half:
            old.feed(ts, frame, linktype)
        flows = old.stats["flows.active"]
        started = time.perf_counter()
        base.fork()
        forks.append(time.perf_counter() - started)
        started = time.perf_counter()
        old.flush()
        flushes.append(time.perf_counter() - started)
    print(f"reload ({len(rules)} rules, {len(half)} packets of {pcap.name} fed, {flows} flows "
          f"open): fork {statistics.median(forks) * 1e3:.2f} ms (controller thread), "
          f"flush {statistics.median(flushes) * 1e3:.1f} ms median / "
          f"{max(flushes) * 1e3:.1f} ms max of {repeats} (capture thread pause)")


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--pcap", type=Path, default=SHARED / "pcaps" / "ec-ultra_lab_03-14.pcap")
    parser.add_argument("--repeats", type=int, default=5)
    args = parser.parse_args()
    with tempfile.TemporaryDirectory(prefix="dpictl-bench-rules-") as scratch:
        bench_update(Path(scratch))
        bench_reload(args.pcap, args.repeats)


if __name__ == "__main__":
    main()
