"""The matcher language, as a table: each matcher text against rules it must and must not pick."""

from __future__ import annotations

import pytest

from dpictl.errors import InputError
from dpictl.rulesets.entries import entry_from_text
from dpictl.rulesets.matchers import IdMatcher, fold, parse_matcher

from .conftest import rule

WEB = entry_from_text(rule(2001, port=80, content="heartbleed", policy="security-ips"), True,
                      "emerging-web.rules", "et")
DNS = entry_from_text(rule(2002, port=53, content="dns", policy="balanced-ips"), True,
                      "emerging-dns.rules", "et")
GID3 = entry_from_text(rule(2001).replace("sid:2001;", "gid:3; sid:2001;"), True, "so.rules", "x")


@pytest.mark.parametrize("text, hits", [
    ("2001", {"WEB"}),
    ("1:2001", {"WEB"}),
    ("3:2001", {"GID3"}),
    ("re:HEARTBLEED", {"WEB"}),
    ("re:port|any 53", {"DNS"}),
    ("group:emerging-*.rules", {"WEB", "DNS"}),
    ("group:et/emerging-dns.rules", {"DNS"}),
    ("metadata:policy security-ips", {"WEB"}),
    ("metadata:POLICY Balanced-IPS", {"DNS"}),
    ("metadata:policy connectivity-ips", set()),
])
def test_matcher_selects(text: str, hits: set[str]) -> None:
    matcher = parse_matcher(text)
    rules = {"WEB": WEB, "DNS": DNS, "GID3": GID3}
    assert {name for name, r in rules.items() if matcher.match(r)} == hits


@pytest.mark.parametrize("text", ["", "sid", "re:", "re:(unclosed", "metadata:policy",
                                  "group:", "flowbits:x", "1:2:3"])
def test_bad_matchers_are_errors_that_quote_the_text(text: str) -> None:
    with pytest.raises(InputError) as err:
        parse_matcher(text)
    assert repr(text.strip()) in str(err.value) or "regex" in str(err.value)


def test_id_matchers_fold_into_one_set() -> None:
    folded = fold([parse_matcher("1"), parse_matcher("re:x"), parse_matcher("1:2")])
    assert isinstance(folded[0], IdMatcher) and folded[0].ids == {(1, 1), (1, 2)}
    assert len(folded) == 2


def test_entries_read_ids_msg_metadata_and_disabled_state() -> None:
    e = entry_from_text(rule(42, rev=7, policy="max-detect"), False, "g.rules", "s")
    assert (e.gid, e.sid, e.rev, e.msg, e.enabled) == (1, 42, 7, "test rule 42", False)
    assert e.metadata == ("policy max-detect",)
    assert e.line().startswith("# alert ")
    assert entry_from_text("alert tcp any any -> any any (msg:\"no sid\";)", True) is None
