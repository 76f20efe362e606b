"""`include` lines: followed relative to the including file, variables expanded, cycles
and missing files reported at the include line while everything else loads."""

from __future__ import annotations

from pathlib import Path

from dpictl.rules import load_rules


def _rule(sid: int, text: str = "x") -> str:
    return f'alert tcp any any -> any 80 (msg:"r{sid}"; content:"{text}"; sid:{sid};)\n'


def test_included_rules_load_in_place_with_their_own_file_and_lines(tmp_path: Path) -> None:
    (tmp_path / "rules").mkdir()
    (tmp_path / "main.rules").write_text(
        _rule(1) + "include $RULE_PATH/rules/more.rules\n" + _rule(4))
    (tmp_path / "rules" / "more.rules").write_text(
        _rule(2) + 'alert tcp any any -> any 80 (msg:"bad"; frob; sid:3;)\n')
    rs = load_rules([tmp_path / "main.rules"])
    assert [r.sid for r in rs.rules] == [1, 2, 4]
    more = str(tmp_path / "rules" / "more.rules")
    assert (rs.rules[1].file, rs.rules[1].line) == (more, 1)
    assert [(e.file, e.line, e.sid) for e in rs.errors] == [(more, 2, 3)]
    assert [f.file for f in rs.files] == [str(tmp_path / "main.rules"), more]


def test_a_defined_variable_names_the_directory(tmp_path: Path) -> None:
    (tmp_path / "conf").mkdir()
    (tmp_path / "set").mkdir()
    (tmp_path / "set" / "a.rules").write_text(_rule(7))
    (tmp_path / "conf" / "main.rules").write_text(
        "var RULE_PATH ../set\ninclude $RULE_PATH/a.rules\n")
    assert [r.sid for r in load_rules([tmp_path / "conf" / "main.rules"]).rules] == [7]
    (tmp_path / "elsewhere.rules").write_text("include $SET/a.rules\n")
    rs = load_rules([tmp_path / "elsewhere.rules"], {"SET": str(tmp_path / "set")})
    assert [r.sid for r in rs.rules] == [7] and not rs.errors


def test_a_missing_file_is_an_error_at_the_include_line_and_the_rest_loads(
        tmp_path: Path) -> None:
    main = tmp_path / "main.rules"
    main.write_text(_rule(1) + "include nowhere.rules\n" + _rule(2))
    rs = load_rules([main])
    assert [r.sid for r in rs.rules] == [1, 2]
    assert [(e.file, e.line) for e in rs.errors] == [(str(main), 2)]
    assert rs.errors[0].reason == f"included file not found: {tmp_path / 'nowhere.rules'}"


def test_a_cycle_is_refused_with_its_chain(tmp_path: Path) -> None:
    (tmp_path / "sub").mkdir()
    a, b = tmp_path / "a.rules", tmp_path / "sub" / "b.rules"
    a.write_text(_rule(1) + "include sub/b.rules\n")
    b.write_text(_rule(2) + "include ../a.rules\n" + _rule(3))
    rs = load_rules([a])
    assert [r.sid for r in rs.rules] == [1, 2, 3]
    assert [(e.file, e.line) for e in rs.errors] == [(str(b), 2)]
    assert rs.errors[0].reason == f"include cycle: {a}:2 -> {b}:2 -> {a}"


def test_a_file_including_itself_is_a_cycle(tmp_path: Path) -> None:
    a = tmp_path / "a.rules"
    a.write_text("include a.rules\n" + _rule(1))
    rs = load_rules([a])
    assert [r.sid for r in rs.rules] == [1]
    assert rs.errors[0].reason == f"include cycle: {a}:1 -> {a}"


def test_the_same_file_included_twice_is_not_a_cycle(tmp_path: Path) -> None:
    (tmp_path / "x.rules").write_text(_rule(5))
    main = tmp_path / "main.rules"
    main.write_text("include x.rules\ninclude x.rules\n")
    rs = load_rules([main])
    assert not rs.errors and [r.sid for r in rs.rules] == [5]
    assert "duplicate rule 1:5" in rs.warnings[0].reason


def test_an_include_without_a_name_is_an_error(tmp_path: Path) -> None:
    main = tmp_path / "main.rules"
    main.write_text("include\n" + _rule(1))
    rs = load_rules([main])
    assert rs.errors[0].reason == "include needs a file name"
    assert [r.sid for r in rs.rules] == [1]
