"""Manifest input has a size bound, and Ctrl-C ends a read that is still waiting (issue 8.6).

`dpictl apply -f /dev/zero` used to read until the OOM killer ended it, and `yes 'a: b' |
dpictl apply -f -` did the same; both now stop at 16 MiB with one line and exit 3.
"""

from __future__ import annotations

import io
import os
import signal
import subprocess
import sys
import time
from pathlib import Path

import pytest

from dpictl.errors import ManifestError
from dpictl.resources.manifests import MAX_MANIFEST_BYTES, load_manifests, read_bounded

ROOT = Path(__file__).resolve().parents[2]


def _dpictl(*args: str, **kw) -> subprocess.Popen:
    env = {**os.environ, "PYTHONPATH": str(ROOT), "DPICTL_AGENT_AUTOSTART": "0"}
    return subprocess.Popen([sys.executable, "-m", "dpictl", *args], env=env,
                            stdout=subprocess.PIPE, stderr=subprocess.PIPE, **kw)


def test_read_bounded_stops_past_the_limit() -> None:
    with pytest.raises(ManifestError, match="larger than 1 MiB"):
        read_bounded(io.BytesIO(b"a" * (2 << 20)), "<x>", limit=1 << 20)
    assert read_bounded(io.BytesIO(b"a" * (1 << 20)), "<x>", limit=1 << 20) == b"a" * (1 << 20)


def test_stdin_text_stream_is_bounded_too() -> None:
    with pytest.raises(ManifestError, match="<stdin>: manifest input is larger than 16 MiB"):
        load_manifests("-", stdin=io.StringIO("a: b\n" * (MAX_MANIFEST_BYTES // 5 + 10)))


def test_deep_nesting_is_a_manifest_error() -> None:
    with pytest.raises(ManifestError, match="nested too deeply"):
        load_manifests("-", stdin=io.StringIO("[" * 100_000))


def test_apply_dev_zero_fails_with_one_line(tmp_path: Path) -> None:
    proc = _dpictl("apply", "-f", "/dev/zero", "--db", str(tmp_path / "s.db"))
    out, err = proc.communicate(timeout=60)
    assert proc.returncode == 3
    assert err.decode().strip().splitlines() == [
        "dpictl: error: /dev/zero: manifest input is larger than 16 MiB "
        "(split it into several files)"]


def test_endless_stdin_pipe_fails_with_one_line(tmp_path: Path) -> None:
    yes = subprocess.Popen(["yes", "a: b"], stdout=subprocess.PIPE)
    try:
        proc = _dpictl("apply", "-f", "-", "--db", str(tmp_path / "s.db"), stdin=yes.stdout)
        _, err = proc.communicate(timeout=60)
    finally:
        yes.kill()
        yes.wait()
    assert proc.returncode == 3
    assert "larger than 16 MiB" in err.decode() and "Traceback" not in err.decode()


def test_ctrl_c_while_reading_stdin_exits_130(tmp_path: Path) -> None:
    read_fd, write_fd = os.pipe()      # held open and never written: the read waits forever
    try:
        proc = _dpictl("apply", "-f", "-", "--db", str(tmp_path / "s.db"), stdin=read_fd)
        time.sleep(1.5)                # let it start and block in the read
        proc.send_signal(signal.SIGINT)
        _, err = proc.communicate(timeout=20)
    finally:
        os.close(read_fd)
        os.close(write_fd)
    assert proc.returncode == 130
    assert "Traceback" not in err.decode()
