"""threshold.config parsing: every entry kind, IP lists and variables, bad lines by file:line."""

from __future__ import annotations

from pathlib import Path

import pytest

from dpictl.errors import InputError
from dpictl.rules.ast import Threshold
from dpictl.rules.threshold_config import (EventFilter, RateFilter, Suppress,
                                           load_threshold_config, parse_threshold_config)


def test_every_kind_parses() -> None:
    config = parse_threshold_config("""\
# comments and blank lines are skipped

suppress gen_id 1, sig_id 2002087, track by_src, ip 209.132.180.67
suppress gen_id 1, sig_id 2003614, track by_either, ip [10.0.0.0/8,$DNS_SERVERS]
suppress gen_id 1, sig_id 5
threshold gen_id 1, sig_id 1851, type limit, track by_src, count 1, seconds 60
event_filter gen_id 0, sig_id 0, type both, track by_both, count 10, seconds 60
rate_filter gen_id 135, sig_id 1, track by_rule, count 100, seconds 1, \\
    new_action drop, timeout 10
rate_filter gen_id 1, sig_id 2, track by_src, count 1, seconds 1, new_action sdrop, \\
    timeout 5, apply_to [10.1.0.0/16]
""", variables={"DNS_SERVERS": "192.0.2.53"})
    assert config.suppress[0] == Suppress(1, 2002087, "by_src", config.suppress[0].ips)
    assert config.suppress[0].ips.include == ("209.132.180.67/32",)
    assert config.suppress[1].ips.include == ("10.0.0.0/8", "192.0.2.53/32")
    assert config.suppress[2] == Suppress(1, 5)
    assert config.filters == (EventFilter(1, 1851, Threshold("limit", "by_src", 1, 60)),
                              EventFilter(0, 0, Threshold("both", "by_both", 10, 60)))
    assert config.rate_filters[0] == RateFilter(135, 1, "by_rule", 100, 1, "drop", 10)
    assert config.rate_filters[1].new_action == "sdrop"
    assert config.rate_filters[1].apply_to.include == ("10.1.0.0/16",)


@pytest.mark.parametrize("line, reason", [
    ("supress gen_id 1, sig_id 1", "unknown entry 'supress'"),
    ("suppress gen_id 1", "missing sig_id"),
    ("suppress gen_id 1, sig_id x", "sig_id 'x' is not a number"),
    ("suppress gen_id 1, sig_id 1, track by_src", "both track and ip"),
    ("suppress gen_id 1, sig_id 1, track by_src, ip 300.1.1.1", "bad address"),
    ("threshold gen_id 1, sig_id 1, type often, track by_src, count 1, seconds 1", "type 'often'"),
    ("threshold gen_id 1, sig_id 1, type limit, count 1, seconds 1", "needs track"),
    ("threshold gen_id 1, sig_id 1, type limit, track by_host, count 1, seconds 1",
     "unknown track"),
    ("rate_filter gen_id 1, sig_id 1, track by_rule, count 1, seconds 1, new_action block, "
     "timeout 1", "new_action 'block'"),
    ("suppress gen_id 1, gen_id 2, sig_id 1", "gen_id given twice"),
    ("suppress gen_id 1, sig_id 1, count 3", "suppress takes no 'count'"),
    ("threshold gen_id 1, sig_id 1, type limit, track by_src, count 1, seconds 1, ip 1.2.3.4",
     "threshold takes no 'ip'"),
])
def test_bad_lines_name_file_and_line(line: str, reason: str) -> None:
    with pytest.raises(InputError) as err:
        parse_threshold_config("# first\n" + line + "\n", "t.config")
    assert str(err.value).startswith("t.config:2: ")
    assert reason in str(err.value)


def test_missing_file_is_one_line(tmp_path: Path) -> None:
    with pytest.raises(InputError, match="cannot read threshold file"):
        load_threshold_config(tmp_path / "nope.config")
