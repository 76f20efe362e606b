"""Loading: counts, per-rule error reports, duplicates, files, built-in rules, classtypes."""

from __future__ import annotations

from pathlib import Path

import pytest

from dpictl.errors import InputError
from dpictl.rules import (CLASSIFICATIONS, RuleLoadError, builtin_rules, load_rules, lookup,
                          parse_rules_text)
from dpictl.rules.ast import Content
from dpictl.rules.classifications import load_classification_config

GOOD = 'alert tcp any any -> any 80 (msg:"good {n}"; content:"x{n}"; classtype:{ct}; sid:{n};)'


def _good(n: int, ct: str = "misc-activity") -> str:
    return GOOD.format(n=n, ct=ct)


def test_malformed_rules_are_reported_with_line_and_reason_and_the_rest_load() -> None:
    text = "\n".join([
        "# comment",
        _good(1),
        'alert tcp any any -> any 80 (msg:"broken"; content:"|4G|"; sid:2;)',
        "",
        _good(3),
        'alert tcp any any -> any 80 (msg:"no sid"; content:"x";)',
        'alert tcp any any -> any 80 (msg:"bad option"; frob; sid:5;)',
        "frobnicate all the things",
        _good(6),
    ])
    rs = parse_rules_text(text, "t.rules")
    assert (rs.total, rs.loaded, rs.failed) == (7, 3, 4)
    assert [r.sid for r in rs.rules] == [1, 3, 6]
    assert [(e.file, e.line, e.sid) for e in rs.errors] == [
        ("t.rules", 3, 2), ("t.rules", 6, None), ("t.rules", 7, 5), ("t.rules", 8, None)]
    assert "bad hex" in rs.errors[0].reason
    assert "no sid" in rs.errors[1].reason
    assert "unknown rule option 'frob'" in rs.errors[2].reason
    assert "not a rule" in rs.errors[3].reason
    assert str(rs.errors[0]).startswith("t.rules:3 (sid 2): content: bad hex")


def test_line_numbers_point_at_the_first_line_of_a_continued_rule() -> None:
    text = _good(1) + "\n" + 'alert tcp any any -> any 80 (msg:"x"; \\\n  frob; \\\n  sid:2;)\n'
    rs = parse_rules_text(text)
    assert rs.errors == [RuleLoadError("<string>", 2, 2, "frob: unknown rule option 'frob'")]


def test_duplicate_sid_keeps_higher_rev_then_later_and_warns() -> None:
    text = "\n".join([
        'alert tcp any any -> any 80 (msg:"first"; content:"a"; sid:10; rev:2;)',
        'alert tcp any any -> any 80 (msg:"older"; content:"b"; sid:10; rev:1;)',
        'alert tcp any any -> any 80 (msg:"same rev, later"; content:"c"; sid:10; rev:2;)',
        'alert tcp any any -> any 80 (msg:"other gid"; content:"d"; gid:3; sid:10;)',
    ])
    rs = parse_rules_text(text)
    assert [(r.gid, r.msg) for r in rs.rules] == [(1, "same rev, later"), (3, "other gid")]
    assert (rs.total, rs.loaded, rs.failed) == (4, 2, 0)
    assert [w.line for w in rs.warnings] == [2, 1]
    assert all("duplicate rule 1:10" in w.reason for w in rs.warnings)


def test_var_lines_in_a_rules_file_define_variables_for_later_rules() -> None:
    text = ("ipvar WEB [10.0.0.5,10.0.0.6]\nportvar WEB_PORTS [8000:8100]\n"
            'alert tcp any any -> $WEB $WEB_PORTS (content:"x"; sid:1;)\n')
    rs = parse_rules_text(text)
    assert rs.total == 1 and rs.failed == 0
    assert rs.rules[0].dst.include == ("10.0.0.5/32", "10.0.0.6/32")
    assert rs.rules[0].dst_ports.include == ((8000, 8100),)


def test_vars_argument_overrides_defaults() -> None:
    rs = parse_rules_text('alert tcp $HOME_NET any -> any any (content:"x"; sid:1;)',
                          vars={"HOME_NET": "10.0.0.0/8"})
    assert rs.rules[0].src.include == ("10.0.0.0/8",)
    rs = parse_rules_text('alert tcp $NOPE any -> any any (content:"x"; sid:1;)')
    assert rs.failed == 1 and "undefined variable $NOPE" in rs.errors[0].reason


def test_load_rules_over_files_and_a_directory(tmp_path: Path) -> None:
    (tmp_path / "a.rules").write_text(_good(1) + "\n")
    (tmp_path / "b.rules").write_text(_good(2) + "\nalert tcp (sid:3;\n")
    (tmp_path / "notes.txt").write_text("not rules")
    rs = load_rules([tmp_path])
    assert (rs.total, rs.loaded, rs.failed) == (3, 2, 1)
    assert [(f.file.split("/")[-1], f.total, f.loaded, f.failed) for f in rs.files] == [
        ("a.rules", 1, 1, 0), ("b.rules", 2, 1, 1)]
    assert rs.errors[0].file.endswith("b.rules") and rs.errors[0].line == 2


def test_missing_or_unreadable_file_raises_input_error(tmp_path: Path) -> None:
    with pytest.raises(InputError, match="rules file not found"):
        load_rules([tmp_path / "nope.rules"])
    (tmp_path / "empty").mkdir()
    with pytest.raises(InputError, match="no \\*.rules files"):
        load_rules([tmp_path / "empty"])


def test_non_utf8_bytes_in_content_survive(tmp_path: Path) -> None:
    path = tmp_path / "latin.rules"
    path.write_bytes(b'alert tcp any any -> any any (msg:"x"; content:"\xff\xfeA"; sid:1;)\n')
    rs = load_rules([path])
    assert rs.rules[0].options[0].pattern == b"\xff\xfeA"


def test_priority_from_classtype_or_priority_option() -> None:
    rs = parse_rules_text("\n".join([
        _good(1, "trojan-activity"), _good(2, "icmp-event"), _good(3, "no-such-class"),
        'alert tcp any any -> any 80 (content:"x"; classtype:icmp-event; priority:1; sid:4;)',
        'alert tcp any any -> any 80 (content:"x"; sid:5;)',
    ]))
    assert [r.priority for r in rs.rules] == [1, 3, 3, 1, 3]
    assert rs.failed == 0
    assert [w.sid for w in rs.warnings] == [3]


def test_classification_table(shared_dir: Path) -> None:
    assert lookup("trojan-activity") == ("A Network Trojan was detected", 1)
    assert lookup("web-application-attack") == ("Web Application Attack", 1)
    assert lookup("made-up") == ("made-up", 3)
    assert lookup(None) == ("", 3)
    # the embedded table is the standard one
    conf = load_classification_config(shared_dir / "rules" / "classification.config")
    assert len(conf) == 43
    for name, entry in conf.items():
        assert CLASSIFICATIONS[name] == entry, name


def test_builtin_rules_all_load_with_own_sids_and_classtypes() -> None:
    rs = builtin_rules()
    assert rs.failed == 0 and rs.warnings == []
    assert 9 <= rs.loaded <= 16
    for r in rs.rules:
        assert r.sid >= 1_000_000 and r.classtype in CLASSIFICATIONS and r.msg
        assert r.file == "builtin/dpictl.rules"


def test_builtin_lab_rule_matches_the_lab_request_shape() -> None:
    # curl http://IP:80 -H 'User-Agent: Mozilla/4.0' -XPOST --data-raw 'smk=1234'
    lab = builtin_rules().by_sid(1_000_001)
    assert lab is not None and 80 in {p for lo, hi in lab.dst_ports.include
                                      for p in range(lo, hi + 1)}
    contents = [(o.buffer, o.pattern) for o in lab.options if isinstance(o, Content)]
    assert ("http_method", b"POST") in contents
    assert ("http_header", b"User-Agent: Mozilla/4.0\r\n") in contents
    body = [o for o in lab.options if isinstance(o, Content) and o.buffer == "http_client_body"]
    assert body and body[0].pattern == b"smk=" and body[0].depth == 4
