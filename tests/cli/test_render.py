"""Renderers write to the Console they are given; tables stay aligned when streamed."""

from __future__ import annotations

import io
import json

from rich.console import Console

from dpictl.cli.render.eve import write_eve
from dpictl.cli.render.json import write_calico_json
from dpictl.cli.render.progress import byte_progress, summary_line
from dpictl.cli.render.table import StreamingAlertTable, render_alerts_table
from dpictl.cli.render.theme import THEME, severity_style

from alerts.factories import make_alert


def _console(width=140):
    return Console(file=io.StringIO(), width=width, theme=THEME, color_system=None)


def test_streaming_rows_align_with_header():
    con = _console()
    table = StreamingAlertTable(con)
    table.add([make_alert(sid=1)])
    table.add([make_alert(sid=21562, source_name="", source_namespace="")])
    lines = [x for x in con.file.getvalue().splitlines() if x.strip()]
    header = lines[0]
    rows = [x for x in lines[1:] if "2023-11-14T22:13:20Z" in x]
    assert len(rows) == 2 and header.count("TIME") == 1
    assert "TIME" in lines[0] and sum("SID" in x for x in lines) == 1
    # SID column starts at the same offset in the header and both rows.
    col = header.index("SID")
    assert rows[0][col:].split()[0] == "1" and rows[1][col:].split()[0] == "21562"
    assert "10.244.1.10:43512" in rows[1] and "red/red1" in rows[0]


def test_empty_table_says_so():
    con = _console()
    render_alerts_table(con, [])
    assert con.file.getvalue().strip() == "No alerts."


def test_eve_and_json_writers_are_raw_even_on_narrow_consoles():
    con = _console(width=20)
    write_eve(con, [make_alert(), make_alert(sid=2)])
    lines = con.file.getvalue().splitlines()
    assert [json.loads(x)["alert"]["signature_id"] for x in lines] == [21562, 2]
    con = _console(width=20)
    write_calico_json(con, [make_alert()])
    assert json.loads(con.file.getvalue())[0]["source_name"] == "red1"


def test_severity_styles_clamp():
    assert severity_style(1) == "alert.severity.1"
    assert severity_style(9) == "alert.severity.4"
    assert severity_style(0) == "alert.severity.3"


def test_summary_line_and_silent_progress_off_terminal():
    line = summary_line(packets=10, nbytes=1046, alerts=1, rules_loaded=4013, rules_failed=24,
                        seconds=0.123, source="lab-smk.pcap", stored_in="/tmp/x.db")
    assert line == ("10 packets (1,046 bytes) from lab-smk.pcap in 0.12s: 1 alert; rules: "
                    "4,013 loaded, 24 failed; stored in /tmp/x.db")
    con = _console()
    with byte_progress(con, 1000) as update:
        update(500)
    assert con.file.getvalue() == ""
