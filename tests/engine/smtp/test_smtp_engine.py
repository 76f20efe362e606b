"""SMTP file_data end to end: frames in, the Engine decodes the MIME attachment, rules on
port 25 see the decoded bytes (never the base64 text), and the shared SMTP captures keep
the alerts Suricata 7.0.10 gives (the oracle)."""

from __future__ import annotations

import base64
import json

import pytest
from mail_samples import multipart_message, session
from smtp_frames import interleave, tcp_frames

from dpictl.capture import open_pcap
from dpictl.engine import Engine
from dpictl.rules import load_rules, parse_rules_text

RULES = """
alert tcp any any -> any 25 (msg:"decoded marker"; flow:to_server,established; file_data; \
content:"SECRETMARKER"; sid:9100001; rev:1;)
alert tcp any any -> any 25 (msg:"PE at file start"; flow:to_server,established; file_data; \
content:"MZ"; depth:2; sid:9100002; rev:1;)
alert tcp any any -> any 25 (msg:"body text is not a file"; file_data; content:"BODYMARKER"; \
sid:9100003; rev:1;)
alert tcp any any -> any 80 (msg:"wrong port"; file_data; content:"SECRETMARKER"; \
sid:9100004; rev:1;)
alert tcp any any -> any 25 (msg:"to_client"; flow:to_client; file_data; \
content:"SECRETMARKER"; sid:9100005; rev:1;)
alert tcp any any -> any any (msg:"http only"; http_uri; content:"SECRETMARKER"; \
sid:9100006; rev:1;)
"""
ENCODED = base64.b64encode(b"SECRETMARKER")[:12].decode()    # whole quanta of the marker


def run(rules: str, frames: list[bytes]) -> list:
    ruleset = parse_rules_text(rules)
    assert not ruleset.errors, ruleset.errors
    engine = Engine(ruleset.rules)
    dets = []
    for i, frame in enumerate(frames):
        dets += engine.feed(1700000000.0 + i * 0.001, frame, 1)
    return dets + engine.flush()


def test_rule_sees_the_decoded_attachment():
    attachment = b"MZ\x90\x00" + b"\x00" * 3000 + b"SECRETMARKER" + b"\xff" * 3000
    frames = tcp_frames(interleave(*session(multipart_message(attachment))))
    dets = run(RULES, frames)
    assert sorted(d.sid for d in dets) == [9100001, 9100002]
    det = dets[0]
    assert det.app_proto == "smtp" and det.dst_port == 25 and det.to_server


def test_marker_only_base64_encoded_in_the_raw_bytes_does_not_alert():
    # the raw stream carries ENCODED; a file_data rule on it must not fire, and a rule for
    # the encoded text on file_data does not either (file_data is decoded)
    attachment = b"MZ" + b"x" * 100
    message = multipart_message(attachment).replace(
        b"--=_outer--", b"--=_outer\r\nContent-Type: text/plain; name=n.txt\r\n\r\n"
        b"plain text, no marker\r\n--=_outer--")
    raw = message + ENCODED.encode()                  # after the last part: epilogue
    frames = tcp_frames(interleave(*session(raw)))
    rules = RULES + (f'alert tcp any any -> any 25 (msg:"encoded text"; file_data; '
                     f'content:"{ENCODED}"; sid:9100007; rev:1;)\n'
                     f'alert tcp any any -> any 25 (msg:"raw stream sees it"; '
                     f'content:"{ENCODED}"; sid:9100008; rev:1;)')
    sids = sorted(d.sid for d in run(rules, frames))
    assert sids == [9100002, 9100008]


def test_one_alert_per_message_for_a_rule_matching_two_attachments():
    msg = (b"Content-Type: multipart/mixed; boundary=b\r\n\r\n"
           b"--b\r\nContent-Type: text/plain; name=a\r\n\r\nSECRETMARKER 1\r\n"
           b"--b\r\nContent-Type: text/plain; name=b\r\n\r\nSECRETMARKER 2\r\n--b--\r\n")
    dets = run(RULES, tcp_frames(interleave(*session(msg))))
    assert [d.sid for d in dets] == [9100001]


def test_non_smtp_flow_on_port_25_pays_nothing_and_alerts_nothing():
    frames = tcp_frames([(True, b"\x16\x03\x01" + b"SECRETMARKER" * 10)])
    assert run(RULES, frames) == []


@pytest.mark.parametrize("pcap", ["sv-smtp-raw-extraction.pcap",
                                  "cs-mail_sender_attachment.pcapng"])
def test_shared_smtp_captures_match_the_oracle(shared_dir, pcap):
    ruleset = load_rules([shared_dir / "rules" / "snort2-community-all-enabled.rules"])
    smtp_rules = [r for r in ruleset.rules
                  if r.sid == 1394 or any(getattr(o, "buffer", None) == "file_data"
                                          for o in r.options)]
    engine = Engine(smtp_rules)
    dets = []
    with open_pcap(shared_dir / "pcaps" / pcap) as frames:
        for ts, frame, linktype, iface in frames:
            dets += engine.feed(ts, frame, linktype, iface)
    dets += engine.flush()
    expected = json.loads((shared_dir / "oracle" / "expected" / f"{pcap}.json").read_text())
    assert sorted(d.sid for d in dets) == sorted(a["sid"] for a in expected["alerts"])
