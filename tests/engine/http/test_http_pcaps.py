"""Flow table + reassembly + app layer over real captures; expected values are those
Suricata 7 logs for the same files (eve `http` records)."""

from __future__ import annotations

from pathlib import Path

import pytest

from dpictl.capture import open_pcap
from dpictl.engine.app import AppLayer
from dpictl.engine.decode import Decoder
from dpictl.engine.flow_table import FlowTable
from dpictl.engine.packet import PROTO_TCP

PCAPS = Path(__file__).resolve().parents[3].parent / "shared" / "pcaps"


def transactions(name: str):
    path = PCAPS / name
    if not path.exists():
        pytest.skip(f"{path} not available")
    decoder, table, app = Decoder(), FlowTable(), AppLayer()
    txs = {}

    def note(flow, events):
        for e in events:
            if flow.app_proto == "http":        # DCE/RPC flows give DceEvents
                txs[(flow.flow_id, e.tx.tx_id)] = (flow, e.tx)

    def finish(flow):
        if flow.streams is None:
            return
        for d in (True, False):
            rest = flow.streams[d].flush()
            note(flow, app.feed(flow, rest, d, flow.last_ts, flow.streams[d].holes))
        note(flow, app.finish(flow, flow.last_ts))

    for num, (ts, frame, linktype, iface) in enumerate(open_pcap(str(path)), 1):
        pkt = decoder.decode(ts, frame, linktype, iface, num)
        if pkt is None or not pkt.ip_proto:
            continue
        flow, to_server = table.lookup(pkt)
        if flow is not None and pkt.ip_proto == PROTO_TCP and flow.streams is not None:
            stream = flow.streams[to_server]
            data = stream.add(pkt)
            if data:
                note(flow, app.feed(flow, data, to_server, ts, stream.holes))
        for gone in table.pop_evicted():
            finish(gone)
    for flow in table.drain():
        finish(flow)
    return [txs[k] for k in sorted(txs)]


def test_lab_request():
    [(flow, tx)] = transactions("lab-smk.pcap")
    assert flow.app_proto == "http" and flow.server_port == 80
    assert tx.get("http_method", True) == b"POST" and tx.get("http_uri", True) == b"/"
    assert tx.field("user-agent", True) == b"Mozilla/4.0"
    assert tx.get("http_client_body", True) == b"smk=1234"
    assert tx.field("content-type", True) == b"application/x-www-form-urlencoded"
    assert tx.get("http_stat_code", False) == b"405"
    assert tx.request.complete and tx.response.complete


def test_cs_http_post():
    txs = transactions("cs-http_post.pcapng")
    assert [(tx.get("http_method", True), tx.get("http_raw_uri", True),
             tx.get("http_stat_code", False)) for _, tx in txs] == [
        (b"POST", b"/wp-comments-post.php", b"302"), (b"GET", b"/?p=310&cpage=1", b"200")]
    post = txs[0][1]
    assert post.field("host", True) == b"www.chrissanders.org"
    assert b"comment=" in post.get("http_client_body", True)
    page = txs[1][1].get("file_data", False)
    assert b"<html" in page.lower() or b"<!doctype" in page.lower()


def test_many_transactions_on_keepalive_flows():
    txs = transactions("ec-winrm_psremote_05-16.pcap")
    assert len(txs) == 185                              # Suricata logs 185 as well
    answered = [tx for _, tx in txs if tx.response.headers_complete]
    assert len(answered) == 184                         # the capture ends before the last one
    assert all(tx.response.complete for tx in answered)
