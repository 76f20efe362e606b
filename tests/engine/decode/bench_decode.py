"""Micro-benchmark of `Decoder.decode` over every frame of /work/shared/pcaps (not a test).

Run: .venv/bin/python tests/engine/decode/bench_decode.py [rounds]
Frames are read into memory first so only decoding is timed; each round uses a fresh Decoder.
Prints packets/s and µs per packet, best of the rounds, in CPU time of this process
(time.process_time), so other work on a shared machine does not skew the figure much.
"""

from __future__ import annotations

from pathlib import Path

import glob
import sys
import time

from dpictl.capture import open_pcap
from dpictl.engine.decode import Decoder

PCAPS = str(Path(__file__).resolve().parents[4] / "shared" / "pcaps" / "*.pcap*")


def load_frames() -> list[tuple[float, bytes, int, str | None]]:
    frames = []
    for path in sorted(glob.glob(PCAPS)):
        with open_pcap(path) as source:
            frames.extend(source)
    return frames


def main(rounds: int = 5) -> None:
    frames = load_frames()
    best = float("inf")
    for _ in range(rounds):
        decoder = Decoder()
        decode = decoder.decode
        start = time.process_time()
        for num, (ts, frame, linktype, iface) in enumerate(frames, 1):
            decode(ts, frame, linktype, iface, num)
        best = min(best, time.process_time() - start)
    n = len(frames)
    print(f"{n} frames, best of {rounds}: {best:.3f} s CPU, {n / best:,.0f} packets/s, "
          f"{best / n * 1e6:.2f} µs/packet")
    print(decoder.stats)


if __name__ == "__main__":
    main(int(sys.argv[1]) if len(sys.argv) > 1 else 5)
