"""Cross-check against the oracle itself: for every transaction we parse from a real capture,
write Suricata rules asserting our buffer values (`content:"..."; startswith; endswith;`) and
require Suricata 7 to fire every one of them on the same capture.

Skipped when `suricata` is not installed. One Suricata run per capture (a few seconds).
"""

from __future__ import annotations

import json
import shutil
import subprocess
from pathlib import Path

import pytest
from test_http_pcaps import PCAPS, transactions

ORACLE = PCAPS.parent / "oracle"
CAPTURES = ["cs-http_espn.pcapng", "cs-http_post.pcapng", "lab-smk.pcap", "ec-macgyver.pcap"]

pytestmark = [
    pytest.mark.slow,
    pytest.mark.skipif(shutil.which("suricata") is None, reason="suricata is not installed"),
]

# (label, Suricata sticky buffer, our buffer, direction)
CHECKS = [
    ("uri", "http.uri", "http_uri", True),
    ("raw_uri", "http.uri.raw", "http_raw_uri", True),
    ("method", "http.method", "http_method", True),
    ("req_header", "http.header", "http_header", True),
    ("req_raw_header", "http.header.raw", "http_raw_header", True),
    ("req_cookie", "http.cookie", "http_cookie", True),
    ("client_body", "http.request_body", "http_client_body", True),
    ("stat_code", "http.stat_code", "http_stat_code", False),
    ("stat_msg", "http.stat_msg", "http_stat_msg", False),
    ("resp_header", "http.header", "http_header", False),
    ("resp_raw_header", "http.header.raw", "http_raw_header", False),
    ("resp_cookie", "http.cookie", "http_cookie", False),
]


def _literal(data: bytes) -> str:
    return "".join(chr(c) if 0x20 <= c < 0x7F and chr(c) not in '";\\|:' else "|%02x|" % c
                   for c in data)


def _rules(txs) -> dict[str, str]:
    """rule text -> what it checks; identical checks collapse into one rule."""
    rules: dict[str, str] = {}
    for flow, tx in txs:
        for label, sticky, name, to_server in CHECKS:
            value = tx.get(name, to_server)
            if not value or len(value) > 1500:
                continue
            direction = "to_server" if to_server else "to_client"
            body = f'flow:{direction}; {sticky}; content:"{_literal(value)}"; startswith; endswith;'
            rules.setdefault(body, f"{label} {flow.client_port}/{tx.tx_id}")
        body_data = tx.get("file_data", False)
        if body_data:
            body = f'flow:to_client; file.data; content:"{_literal(body_data[:40])}"; startswith;'
            rules.setdefault(body, f"file_data {flow.client_port}/{tx.tx_id}")
    return rules


@pytest.mark.parametrize("capture", CAPTURES)
def test_suricata_sees_the_same_buffers(capture, tmp_path: Path):
    checks = _rules(transactions(capture))
    assert checks
    by_sid = {}
    lines = []
    for sid, (body, what) in enumerate(checks.items(), 1000):
        by_sid[sid] = what
        lines.append(f'alert http any any -> any any (msg:"{what}"; {body} sid:{sid};)')
    (tmp_path / "check.rules").write_text("\n".join(lines) + "\n")
    subprocess.run(
        ["suricata", "-c", str(ORACLE / "suricata.yaml"), "-S", str(tmp_path / "check.rules"),
         "-r", str(PCAPS / capture), "-l", str(tmp_path), "-k", "none", "--runmode", "single",
         "--set", "packet-alert-max=1000",
         "--set", f"classification-file={ORACLE.parent / 'rules' / 'classification.config'}",
         "--set", f"reference-config-file={ORACLE.parent / 'rules' / 'reference.config'}"],
        check=True, capture_output=True, timeout=300)
    fired = set()
    for line in (tmp_path / "eve.json").read_text().splitlines():
        event = json.loads(line)
        if event.get("event_type") == "alert":
            fired.add(event["alert"]["signature_id"])
    missing = sorted(what for sid, what in by_sid.items() if sid not in fired)
    assert missing == []
