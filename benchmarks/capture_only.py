"""dpictl's capture with no engine behind it: what the AF_PACKET ring alone keeps up with.

The live benchmark's `--engine-less` mode runs this in place of `dpictl inspect`, on the same
interface and with the same ring (`dpictl.live.session.open_afpacket`, so the geometry is the
one `inspect --ring-size` gives). It reads and counts packets until SIGTERM, quiesces the ring
as a live worker does at exit, and prints one Suricata-shaped `stats` event, so the benchmark
reads it exactly as it reads dpictl's:

    python benchmarks/capture_only.py IFACE [--netns NS] [--ring-size MIB]
"""

from __future__ import annotations

import argparse
import json
import signal
import sys
import time


def main() -> None:
    ap = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    ap.add_argument("iface")
    ap.add_argument("--netns")
    ap.add_argument("--ring-size", type=int, default=32, help="MiB of ring (as inspect's)")
    args = ap.parse_args()

    from dpictl.live.session import LiveOptions, open_afpacket

    stopping = False

    def stop(signum: int, frame: object) -> None:
        nonlocal stopping
        stopping = True

    signal.signal(signal.SIGTERM, stop)
    signal.signal(signal.SIGINT, stop)
    source = open_afpacket(LiveOptions(interfaces=(args.iface,), netns=args.netns,
                                       ring_mb=args.ring_size), None)
    started = time.time()
    print(f"capturing on {args.iface} (engine-less)", file=sys.stderr, flush=True)
    packets = nbytes = 0
    try:
        while not stopping:
            # A short timeout rather than stop() from the handler: after stop() the source
            # reads nothing more, and the ring's last packets must still be counted.
            batch = source.read(0.2)
            packets += len(batch)
            nbytes += sum(len(frame[1]) for frame in batch)
        batch = source.quiesce()
        packets += len(batch)
        nbytes += sum(len(frame[1]) for frame in batch)
        kernel = source.stats().get(args.iface, {})
    finally:
        source.close()
    print(json.dumps({"event_type": "stats", "stats": {
        "uptime": int(time.time() - started),
        "capture": {key: int(kernel.get(key, 0))
                    for key in ("kernel_packets", "kernel_drops", "discarded")},
        "decoder": {"pkts": packets, "bytes": nbytes},
    }}), flush=True)


if __name__ == "__main__":
    main()
