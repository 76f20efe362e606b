"""Differential check against the oracle itself: a crafted SMTP session (attachments in
base64 and quoted-printable, nested multipart, a text body, dot-stuffing, two messages)
with community SMTP file_data rules and our own probes; Suricata 7 and dpictl must raise
the same alerts. This is how the attachment-only and no-dot-unstuffing behaviours were
found. Skipped when `suricata` is not installed (one Suricata run, a few seconds).
"""

from __future__ import annotations

import base64
import json
import shutil
import subprocess
from collections import Counter

import pytest
from scapy.layers.l2 import Ether
from scapy.utils import wrpcap
from smtp_frames import interleave, tcp_frames

from dpictl.engine import Engine
from dpictl.rules import parse_rules_text

pytestmark = [
    pytest.mark.slow,
    pytest.mark.skipif(shutil.which("suricata") is None, reason="suricata is not installed"),
]

COMMUNITY_SIDS = {24598, 26380, 23667, 31719, 32244, 23651, 23678}
PROBES = [
    ("M1BODY", "text body (not a file)"), ("QPATT softJOIN", "QP attachment, soft break"),
    ("JOIN|0d 0a|", "QP hard line break"), ("NONAMEATT", "disposition without filename"),
    (".DOTSTUFF", "dot-stuffed line"), ("..DOTSTUFF", "dot-stuffing kept"),
    ("SINGLEATT", "single-part message"), ("PREAMBLE", "multipart preamble"),
]


def _b64(data: bytes) -> bytes:
    return base64.encodebytes(data).replace(b"\n", b"\r\n")


def _part(boundary: bytes, headers: bytes, body: bytes) -> bytes:
    return b"--" + boundary + b"\r\n" + headers + b"\r\n" + body


def _messages() -> list[bytes]:
    jpeg = b"\xff\xd8\xff\xe0\x00\x10JFIF\x00\x01\x01\x00\x00\x01\x00\x01\x00\x00\xff\xe1\x00\x00"
    first = (b"MIME-Version: 1.0\r\nContent-Type: multipart/mixed; boundary=OUT\r\n\r\n"
             b"PREAMBLE\r\n" +
             _part(b"OUT", b"Content-Type: text/plain\r\n", b"see http://1.usa.gov/abcdef12 "
                   b"M1BODY\r\n") +
             _part(b"OUT", b"Content-Type: multipart/alternative; boundary=IN\r\n",
                   _part(b"IN", b"Content-Type: text/html; name=\"x.html\"\r\n"
                         b"Content-Transfer-Encoding: quoted-printable\r\n",
                         b"QP=41TT soft=\r\nJOIN\r\n<a href=3D\"javascript://x\">"
                         b"document.cookie</a> http://1.usa.gov/abcdef99\r\n") + b"--IN--\r\n") +
             _part(b"OUT", b"Content-Disposition: attachment\r\n"
                   b"Content-Transfer-Encoding: base64\r\n", _b64(b"NONAMEATT")) +
             _part(b"OUT", b"Content-Type: application/zip; name=\"a.zip\"\r\n"
                   b"Content-Transfer-Encoding: base64\r\n",
                   _b64(b"\xef\xbb\xbfPK\x03\x04" + bytes(300))) +
             _part(b"OUT", b"Content-Type: image/jpeg; name=\"p.jpg\"\r\n"
                   b"Content-Transfer-Encoding: base64\r\n", _b64(jpeg + b"x" * 2000)) +
             _part(b"OUT", b"Content-Type: text/plain\r\n"
                   b"Content-Disposition: inline; filename=\"d.txt\"\r\n",
                   b"..DOTSTUFF line\r\n") + b"--OUT--\r\n")
    second = (b"Content-Type: application/pdf; name=\"a.pdf\"\r\n"
              b"Content-Transfer-Encoding: base64\r\n\r\n" + _b64(b"%PDF-1.4 SINGLEATT"))
    return [first, second]


def _session() -> list[tuple[bool, bytes]]:
    client, server = [b"EHLO me\r\n"], [b"220 mx ESMTP\r\n", b"250-mx\r\n250 PIPELINING\r\n"]
    for message in _messages():
        client += [b"MAIL FROM:<a@x>\r\nRCPT TO:<b@y>\r\nDATA\r\n", message + b".\r\n"]
        server += [b"250 ok\r\n250 ok\r\n354 go\r\n", b"250 queued\r\n"]
    return interleave(client + [b"QUIT\r\n"], server + [b"221 bye\r\n"])


def _rules(shared_dir) -> str:
    lines = [line for line in (shared_dir / "rules" / "snort2-community-all-enabled.rules")
             .read_text().splitlines()
             if line.startswith("alert") and any(f"sid:{s};" in line for s in COMMUNITY_SIDS)]
    assert len(lines) == len(COMMUNITY_SIDS)
    for i, (content, label) in enumerate(PROBES):
        lines.append(f'alert tcp any any -> any 25 (msg:"probe {label}"; flow:to_server; '
                     f'file_data; content:"{content}"; sid:{9200000 + i}; rev:1;)')
    return "\n".join(lines) + "\n"


def test_smtp_file_data_alerts_match_suricata(shared_dir, tmp_path):
    rules = _rules(shared_dir)
    frames = tcp_frames(_session(), mss=700)
    pcap, rules_file, out = tmp_path / "smtp.pcap", tmp_path / "smtp.rules", tmp_path / "out"
    wrpcap(str(pcap), [Ether(f) for f in frames])
    rules_file.write_text(rules)
    out.mkdir()
    subprocess.run(["suricata", "-c", str(shared_dir / "oracle" / "suricata.yaml"),
                    "-S", str(rules_file), "-r", str(pcap), "-l", str(out), "-k", "none",
                    "--runmode", "single"], check=True, capture_output=True, timeout=120)
    theirs = Counter(json.loads(line)["alert"]["signature_id"]
                     for line in (out / "eve.json").read_text().splitlines()
                     if '"event_type":"alert"' in line)
    ruleset = parse_rules_text(rules)
    engine = Engine(ruleset.rules)
    dets = []
    for i, frame in enumerate(frames):
        dets += engine.feed(1700000000.0 + i * 0.001, frame, 1)
    dets += engine.flush()
    ours = Counter(d.sid for d in dets)
    assert theirs[26380] and theirs[31719], theirs          # the session exercises them
    assert ours == theirs
