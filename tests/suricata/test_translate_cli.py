"""`dpictl rules translate FILE --to suricata`, as a user runs it (in process)."""

from __future__ import annotations

import json
import shutil
import sys
from pathlib import Path

import pytest

sys.path.insert(0, str(Path(__file__).resolve().parents[1] / "cli"))

from in_process import run  # noqa: E402

from dpictl.suricata.rulefile import rejected_lines  # noqa: E402

needs_suricata = pytest.mark.skipif(shutil.which("suricata") is None,
                                    reason="Suricata is not installed")

RULES = """\
alert tcp any any -> any 80 ( msg:"good"; flow:to_server,established; http_uri; content:"/x",nocase; service:http; sid:1000001; rev:1; )
alert udp any any -> any 161 ( msg:"ber"; ber_data:0x30; ber_skip:0x01,optional; sid:1000002; )

alert tcp any any -> any 80 ( msg:"mixed"; flow:established,to_client; id:5; http_stat_code; content:"307"; service:http; sid:1000003; )
alert tcp any any -> any 80 ( msg:"broken" sid:1000004; )
"""


@needs_suricata
def test_translate_prints_suricata_rules_and_reports_the_rest_by_line(capsys, tmp_path):
    path = tmp_path / "mixed.rules"
    path.write_text(RULES)
    code, out, err = run(capsys, "rules", "translate", str(path), "--to", "suricata",
                         "--errors", "json")
    assert code == 3
    assert out.splitlines() == [
        'alert http any any -> any 80 (msg:"good"; flow:established,to_server; http.uri; '
        'content:"/x"; nocase; sid:1000001; rev:1;)']
    report = json.loads(err[:err.rindex("}") + 1])
    assert report["total"] == 4 and report["loaded"] == 1 and report["failed"] == 3
    where = {(e["line"], e["sid"]): e["reason"] for e in report["errors"]}
    assert "ber_data" in where[(2, 1000002)]
    assert where[(4, 1000003)].startswith("Suricata rejects it: ")
    assert any(line == 5 for line, _ in where)      # dpictl's own parse error, same shape
    assert err.strip().endswith("3 of 4 rules were left out")


def test_translate_without_check_needs_no_suricata(capsys, tmp_path):
    path = tmp_path / "one.rules"
    path.write_text(RULES.splitlines()[0] + "\n")
    code, out, err = run(capsys, "rules", "translate", str(path), "--no-check")
    assert code == 0
    assert out.startswith("alert http any any -> any 80 (")
    assert "1 of 1 rules translated" in err


def test_unknown_target_is_a_usage_error(capsys, tmp_path):
    path = tmp_path / "one.rules"
    path.write_text(RULES.splitlines()[0] + "\n")
    code, _, err = run(capsys, "rules", "translate", str(path), "--to", "snort2")
    assert code == 2 and "use --to suricata" in err


def test_suricata_errors_map_to_the_lines_of_the_translated_file(tmp_path):
    log = (
        "E: detect-parse: unknown rule keyword 'foo'.\n"
        'E: detect: error parsing signature "alert tcp any any -> any any (foo; sid:1;)" '
        f"from file {tmp_path}/t.rules at line 7\n"
        'E: detect: error parsing signature "x" from file /other/file.rules at line 2\n'
    )
    assert rejected_lines(log, tmp_path / "t.rules") == {7: "unknown rule keyword 'foo'."}
