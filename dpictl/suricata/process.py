"""Suricata as a child process: the command line, start, stop, and one-shot pcap runs.

The child is started in its own process group so that stopping it (Ctrl-C, `lab down`)
reaches every thread Suricata spawns and nothing outlives dpictl. `-k none` because veth and
offloaded traffic carry checksums the kernel never filled in; Suricata would otherwise drop
those packets from stream reassembly.
"""

from __future__ import annotations

import os
import signal
import subprocess
import time
from pathlib import Path

from dpictl.errors import DpictlError, InputError
from dpictl.suricata.config import SuricataSettings, write_config


START_TIMEOUT = 180.0         # rule load on a busy 2-core node can take a while

def _die_with_parent() -> None:
    """In the child: SIGTERM when dpictl dies, even by SIGKILL, so no Suricata is left over
    (the child has its own session, so a signal to dpictl's group does not reach it)."""
    try:
        import ctypes

        ctypes.CDLL("libc.so.6", use_errno=True).prctl(1, signal.SIGTERM)  # PR_SET_PDEATHSIG
    except (OSError, AttributeError):
        pass


class SuricataFailed(DpictlError):
    """Suricata exited with an error; the message carries its last error line."""


def command(binary: str, config: Path, settings: SuricataSettings, *,
            pcap: Path | None = None) -> list[str]:
    """The Suricata command line for a pcap run (`-r`) or a live AF_PACKET run."""
    cmd = [binary, "-c", str(config), "-l", str(settings.log_dir), "-k", "none"]
    if pcap is not None:
        cmd += ["-r", str(pcap), "--runmode", "single"]
    else:
        cmd += ["--af-packet", "--runmode", "workers"]
    return cmd


def check_log_dir(path: Path) -> None:
    """A clear error for a log directory Suricata could not write (it says so only deep in
    its own log, after a slow rule load)."""
    try:
        path.mkdir(parents=True, exist_ok=True)
        probe = path / ".dpictl-write-test"
        probe.write_text("")
        probe.unlink()
    except OSError as exc:
        raise InputError(f"cannot write the Suricata log directory {path}: "
                         f"{exc.strerror or exc}") from None


class SuricataProcess:
    """One running Suricata. `start()` returns at once; `stop()` ends the whole group."""

    def __init__(self, binary: str, settings: SuricataSettings, *,
                 pcap: Path | None = None, netns: str | None = None) -> None:
        self.binary = binary
        self.settings = settings
        self.pcap = pcap
        self.netns = netns
        self.proc: subprocess.Popen[bytes] | None = None
        self.started_at = 0.0

    def start(self) -> None:
        check_log_dir(self.settings.log_dir)
        config = write_config(self.settings)
        cmd = command(self.binary, config, self.settings, pcap=self.pcap)
        if self.netns:
            cmd = ["ip", "netns", "exec", self.netns, *cmd]
        stderr = open(self.settings.log_dir / "suricata.stderr", "wb")
        try:
            self.proc = subprocess.Popen(
                cmd,
                stdin=subprocess.DEVNULL, stdout=stderr, stderr=stderr,
                start_new_session=True, preexec_fn=_die_with_parent)
        finally:
            stderr.close()
        self.started_at = time.monotonic()

    def wait_started(self, timeout: float) -> str | None:
        """Block until Suricata logs "Engine started" (it has loaded its rules and captures
        from then on); None then, else why not (it exited, or `timeout` passed)."""
        log_file = self.settings.log_dir / "suricata.log"
        deadline = time.monotonic() + timeout
        while time.monotonic() < deadline:
            if self.poll() is not None:
                return f"Suricata exited: {self.last_error()}"
            try:
                if "Engine started" in log_file.read_text(errors="replace"):
                    return None
            except OSError:
                pass                        # not written yet
            time.sleep(0.1)
        return f"Suricata did not start within {timeout:.0f}s"

    @property
    def pid(self) -> int | None:
        return self.proc.pid if self.proc else None

    def poll(self) -> int | None:
        return None if self.proc is None else self.proc.poll()

    def wait(self, timeout: float | None = None) -> int:
        assert self.proc is not None
        return self.proc.wait(timeout)

    def terminate(self) -> None:
        """Ask the group to exit (SIGTERM) without waiting: the caller keeps reading EVE."""
        if self.proc is not None and self.proc.poll() is None:
            try:
                os.killpg(self.proc.pid, signal.SIGTERM)
            except ProcessLookupError:
                pass

    def stop(self, timeout: float = 15.0) -> None:
        """SIGTERM the group (Suricata flushes its logs), SIGKILL if it does not go."""
        if self.proc is None or self.proc.poll() is not None:
            return
        try:
            os.killpg(self.proc.pid, signal.SIGTERM)
            self.proc.wait(timeout)
        except subprocess.TimeoutExpired:
            os.killpg(self.proc.pid, signal.SIGKILL)
            self.proc.wait()
        except ProcessLookupError:
            pass

    def last_error(self) -> str:
        """Suricata's last `E:` line (or last line) from its console output."""
        try:
            text = (self.settings.log_dir / "suricata.stderr").read_text(errors="replace")
        except OSError:
            return "no output"
        lines = [ln.strip() for ln in text.splitlines() if ln.strip()]
        errors = [ln for ln in lines if ln.startswith("E:") and "Loading signatures" not in ln]
        if errors:
            return errors[-1]
        code = self.poll()
        if code is not None and code < 0:
            return f"killed by {signal.Signals(-code).name}"
        return lines[-1] if lines and code else "no error logged"


def run_pcap(binary: str, settings: SuricataSettings, pcap: Path) -> Path:
    """Run Suricata over one pcap to the end; returns the EVE file it wrote."""
    proc = SuricataProcess(binary, settings, pcap=pcap)
    proc.start()
    code = proc.wait()
    if code != 0:
        raise SuricataFailed(f"Suricata failed on {pcap}: {proc.last_error()}")
    return settings.eve_path or settings.log_dir / "eve.json"


__all__ = ["SuricataProcess", "SuricataFailed", "run_pcap", "command", "check_log_dir"]
