"""One `parse_duration` for `--since` and manifest fields: it accepts everything the two old
parsers accepted (alerts/duration.py: 30s 5m 1h30m 2d 1w, bare seconds; resources/quantity.py:
Go durations 1m30s 500ms 250us 0), and raises the error class its caller names."""

from __future__ import annotations

import pytest

from dpictl.duration import parse_duration
from dpictl.errors import ManifestError, UsageError


@pytest.mark.parametrize("text,seconds", [
    # what `--since` accepted
    ("30s", 30), ("5m", 300), ("1h30m", 5400), ("2d", 172800), ("45", 45), ("1w", 604800),
    ("1h0m5s", 3605), ("1.5h", 5400), ("500ms", 0.5), (" 10M ", 600),
    # what manifest fields (Go durations) accepted
    ("1m30s", 90), ("5m0s", 300), ("1h", 3600), ("0", 0), ("250us", 250e-6),
    ("250µs", 250e-6), ("100ns", 100e-9), (".5s", 0.5), ("1.5", 1.5),
])
def test_valid(text, seconds):
    assert parse_duration(text) == pytest.approx(seconds)


@pytest.mark.parametrize("text", ["", "abc", "5x", "m5", "1h 30m", "-5m", "5m3", "1.2.3s", "s",
                                  "1GB", "30s5", None])
def test_invalid_is_the_callers_error(text):
    with pytest.raises(UsageError, match="invalid duration"):
        parse_duration(text)
    with pytest.raises(ManifestError, match="invalid duration"):
        parse_duration(text, ManifestError)


def test_a_duration_too_long_for_a_float_is_refused():
    with pytest.raises(UsageError, match="is too long"):
        parse_duration("9" * 400 + "s")


def test_felix_flush_interval_uses_it():
    from dpictl.resources.models.felix import FelixConfiguration

    felix = FelixConfiguration.from_manifest({"metadata": {"name": "default"},
                                              "spec": {"flowLogsFlushInterval": "1m30s"}})
    assert felix.flow_logs_flush_interval == 90
    with pytest.raises(ManifestError, match="invalid duration '30x'"):
        FelixConfiguration.from_manifest({"metadata": {"name": "default"},
                                          "spec": {"flowLogsFlushInterval": "30x"}})
