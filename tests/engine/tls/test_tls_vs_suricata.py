"""Differential check against the oracle: crafted TLS sessions (full handshakes, a server
flight in one record or one segment, split records and hellos, SSLv2 and SSLv2-compatible
hellos, SSLv3 to TLS 1.3 by supported_versions, a 6 KB record, application data) with
probe rules for every ssl_state / ssl_version value and negation, content + state
combinations, an `alert tls` rule and the community ssl rules. Suricata 7 and dpictl must
raise the same alerts, rule by rule and session by session. This is how the ack-paced
parsing, the shared "last handshake message" state, the once-per-direction alerts, the
"updated transaction" rule and the end of payload inspection after application data were
found. Skipped when `suricata` is not installed (one Suricata run, a few seconds).
"""

from __future__ import annotations

import json
import re
import shutil
import subprocess
from collections import Counter

import pytest
from tls_sessions import (APPDATA, CCS, HANDSHAKE, SSL3, TLS10, TLS11, TLS12, TLS13, Session,
                          certificate, client_hello, client_key_exchange, handshake, record,
                          server_hello, server_hello_done, server_key_exchange,
                          sslv2_client_hello, sslv2_server_hello, write_pcap)

from dpictl.engine import Engine
from dpictl.rules import parse_rules_text

pytestmark = [
    pytest.mark.slow,
    pytest.mark.skipif(shutil.which("suricata") is None, reason="suricata is not installed"),
]

COMMUNITY_SIDS = {2656, 2657, 35393, 56864, 56587, 27538, 47640}
CERT = b"\x30\x20\x06\x03\x55\x04\x0a\x13\x0eMyCompany Ltd.ACME Shell Co.0xZACME Shell Co.0"
BIG_CERT = CERT + bytes(6000) + b"MyEnd"
STATES = ("client_hello", "server_hello", "client_keyx", "server_keyx", "unknown",
          "!client_hello", "!unknown", "client_hello,server_hello", "!client_hello,server_hello",
          "client_hello|server_keyx")
VERSIONS = ("sslv2", "sslv3", "tls1.0", "tls1.1", "tls1.2", "tls1.3", "!tls1.2", "!sslv2",
            "tls1.0,tls1.2", "!tls1.0,!tls1.2")
COMBOS = (
    'flow:to_client; ssl_state:server_hello; content:"MyCompany"',
    'flow:to_client; ssl_state:server_hello; content:"|16 03 03|"; depth:3',
    'flow:to_client; ssl_state:server_keyx; content:"MyCompany"',
    'flow:to_client; ssl_state:!client_hello; content:"MyCompany"',
    'flow:to_client; ssl_state:!server_hello; content:"MyCompany"',
    'flow:to_client; ssl_state:!client_hello; content:"MyEnd"',
    'flow:to_server; ssl_state:client_hello; content:"example.org"',
    'flow:to_server; ssl_state:client_hello; content:"|16 03 01|"; depth:3',
    'flow:to_server; ssl_state:server_hello; content:"example.org"',
    'flow:to_server; ssl_state:!server_hello; content:"example.org"',
    'flow:to_server; ssl_state:client_keyx; content:"example.org"; depth:100',
    'flow:to_client; content:"MyCompany"',
    'flow:to_server; content:"example.org"',
    'flow:to_server; content:"APPDATA-C"',
    'flow:to_client; content:"APPDATA-S"',
)


def _full(s: Session, flight: str = "records", hello: int = TLS12) -> Session:
    s.send(True, record(HANDSHAKE, TLS10, client_hello(hello)))
    msgs = [server_hello(hello), certificate(CERT), server_key_exchange(), server_hello_done()]
    if flight == "records":
        for msg in msgs:
            s.send(False, record(HANDSHAKE, hello, msg))
    elif flight == "one record":
        s.send(False, record(HANDSHAKE, hello, b"".join(msgs)))
    else:                                               # one segment, a record each
        s.send(False, b"".join(record(HANDSHAKE, hello, m) for m in msgs))
    s.send(True, record(HANDSHAKE, hello, client_key_exchange()))
    s.send(True, record(CCS, hello, b"\x01"))
    s.send(True, record(HANDSHAKE, hello, bytes(40)))
    s.send(False, record(CCS, hello, b"\x01") + record(HANDSHAKE, hello, bytes(40)))
    s.send(True, record(APPDATA, hello, b"APPDATA-C" + bytes(30)))
    s.send(False, record(APPDATA, hello, b"APPDATA-S" + bytes(30)))
    return s


def _sessions() -> list[Session]:
    out = [_full(Session(sport=41000)), _full(Session(sport=41001), "one record"),
           _full(Session(sport=41002), "one segment")]
    s = Session(sport=41003)                     # hello and server hello split mid-record
    s.send(True, record(HANDSHAKE, TLS10, client_hello(TLS12)), split=(20,))
    s.send(False, record(HANDSHAKE, TLS12, server_hello(TLS12)), split=(3,))
    s.send(False, record(HANDSHAKE, TLS12, certificate(CERT)))
    s.send(True, record(HANDSHAKE, TLS12, client_key_exchange()))
    out.append(s)
    s = Session(sport=41004)                     # no pure ACKs: data acknowledges data
    s.send(True, record(HANDSHAKE, TLS10, client_hello(TLS12)), ack=False)
    s.send(False, record(HANDSHAKE, TLS12, server_hello(TLS12)) +
           record(HANDSHAKE, TLS12, certificate(CERT)), ack=False)
    s.send(True, record(HANDSHAKE, TLS12, client_key_exchange()), ack=False)
    s.send(False, record(CCS, TLS12, b"\x01"), ack=False)
    out.append(s)
    for sport, flight in ((41005, "one record"), (41006, "records")):   # a 6 KB record
        s = Session(sport=sport)
        s.send(True, record(HANDSHAKE, TLS10, client_hello(TLS12)))
        msgs = [server_hello(TLS12), certificate(BIG_CERT), server_hello_done()]
        s.send(False, record(HANDSHAKE, TLS12, b"".join(msgs)) if flight == "one record"
               else b"".join(record(HANDSHAKE, TLS12, m) for m in msgs))
        s.send(True, record(HANDSHAKE, TLS12, client_key_exchange()))
        out.append(s)
    s = Session(sport=41007)                     # SSLv2, then SSLv2-compatible (TLS 1.0)
    s.send(True, sslv2_client_hello(challenge=bytes(40)))
    s.send(False, sslv2_server_hello())
    out.append(s)
    s = Session(sport=41008)
    s.send(True, sslv2_client_hello(version=TLS10))
    s.send(False, sslv2_server_hello())
    out.append(s)
    s = Session(sport=41009)
    s.send(True, sslv2_client_hello())
    s.send(True, b"\x80\x05\x02" + bytes(4))
    s.send(True, b"\x80\x05\x02" + bytes(4))
    out.append(s)
    for sport, rec, hello, supported, selected in (
            (41010, SSL3, SSL3, (), None), (41011, TLS10, TLS12, (TLS13, TLS12), TLS13),
            (41012, TLS10, TLS11, (), None)):
        s = Session(sport=sport)
        s.send(True, record(HANDSHAKE, rec, client_hello(hello, supported=supported)))
        s.send(True, record(HANDSHAKE, rec, client_key_exchange()))
        s.send(False, record(HANDSHAKE, hello, server_hello(hello, selected=selected)))
        s.send(True, record(HANDSHAKE, hello, client_key_exchange()))
        out.append(s)
    s = Session(sport=41013, dport=8443)         # TLS on another port: found by content
    _full(s)
    out.append(s)
    return out


def _rules(shared_dir) -> tuple[str, int]:
    lines = [line for line in (shared_dir / "rules" / "snort2-community-all-enabled.rules")
             .read_text().splitlines()
             if line.startswith("alert") and int(re.search(r"sid:(\d+);", line)[1])
             in COMMUNITY_SIDS]
    assert len(lines) == len(COMMUNITY_SIDS)
    opts = [f"flow:{d}; ssl_state:{v}" for d in ("to_server", "to_client") for v in STATES]
    opts += [f"flow:{d}; ssl_version:{v}" for d in ("to_server", "to_client") for v in VERSIONS]
    opts += list(COMBOS)
    for i, opt in enumerate(opts):
        lines.append(f'alert tcp any any -> any any (msg:"probe {i}"; {opt}; '
                     f'sid:{9300000 + i}; rev:1;)')
    lines.append('alert tls any any -> any any (msg:"tls MyCompany"; flow:to_client; '
                 'content:"MyCompany"; sid:9309999; rev:1;)')
    return "\n".join(lines) + "\n", len(lines)


def test_tls_alerts_match_suricata(shared_dir, tmp_path):
    rules, count = _rules(shared_dir)
    pcap, rules_file, out = tmp_path / "tls.pcap", tmp_path / "tls.rules", tmp_path / "out"
    frames = write_pcap(pcap, [s.frames() for s in _sessions()])
    rules_file.write_text(rules)
    out.mkdir()
    subprocess.run(["suricata", "-c", str(shared_dir / "oracle" / "suricata.yaml"),
                    "-S", str(rules_file), "-r", str(pcap), "-l", str(out), "-k", "none",
                    "--runmode", "single"], check=True, capture_output=True, timeout=120)
    theirs: Counter = Counter()
    for line in (out / "eve.json").read_text().splitlines():
        event = json.loads(line)
        if event.get("event_type") == "alert":
            ports = {event["src_port"], event["dest_port"]} - {443, 8443}
            theirs[(event["alert"]["signature_id"], min(ports))] += 1
    ruleset = parse_rules_text(rules)
    engine = Engine(ruleset.rules)
    assert engine.stats["rules_loaded"] == count            # every ssl_* rule loads
    ours: Counter = Counter()
    dets = []
    for i, frame in enumerate(frames):
        dets += engine.feed(1700000000.0 + i * 0.001, frame, 1)
    dets += engine.flush()
    for d in dets:
        ours[(d.rule.sid, min({d.src_port, d.dst_port} - {443, 8443}))] += 1
    # the sessions exercise the community MyCompany rule, `alert tls` and the probes
    assert (27538, 41006) in theirs and (9309999, 41000) in theirs
    assert len(theirs) > 200
    missing, extra = theirs - ours, ours - theirs
    assert not missing and not extra, (sorted(missing), sorted(extra))


def test_tls_probes_agree_on_a_shared_capture(shared_dir, tmp_path):
    """The same probe rules on sv-tls-subjectaltname.pcap (40 real TLS flows: TLS 1.2 and
    1.3, large certificate records over many segments): the same alert keys."""
    rules, _ = _rules(shared_dir)
    pcap = shared_dir / "pcaps" / "sv-tls-subjectaltname.pcap"
    rules_file, out = tmp_path / "tls.rules", tmp_path / "out"
    rules_file.write_text(rules)
    out.mkdir()
    subprocess.run(["suricata", "-c", str(shared_dir / "oracle" / "suricata.yaml"),
                    "-S", str(rules_file), "-r", str(pcap), "-l", str(out), "-k", "none",
                    "--runmode", "single"], check=True, capture_output=True, timeout=120)
    theirs = set()
    for line in (out / "eve.json").read_text().splitlines():
        event = json.loads(line)
        if event.get("event_type") == "alert":
            theirs.add((event["alert"]["signature_id"], frozenset(
                [(event["src_ip"], event["src_port"]), (event["dest_ip"], event["dest_port"])])))
    from dpictl.capture import open_pcap

    engine = Engine(parse_rules_text(rules).rules)
    dets = []
    with open_pcap(pcap) as frames:
        for ts, frame, linktype, iface in frames:
            dets += engine.feed(ts, frame, linktype, iface)
    dets += engine.flush()
    ours = {(d.rule.sid, frozenset([(d.src_ip, d.src_port), (d.dst_ip, d.dst_port)]))
            for d in dets}
    assert len({sid for sid, _ in theirs}) >= 20          # states, versions, contents
    assert theirs == ours, (sorted(theirs - ours, key=str)[:5], sorted(ours - theirs, key=str)[:5])
