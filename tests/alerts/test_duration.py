from __future__ import annotations

import pytest

from dpictl.alerts.duration import parse_duration
from dpictl.errors import UsageError


@pytest.mark.parametrize("text,seconds", [
    ("30s", 30), ("5m", 300), ("1h30m", 5400), ("2d", 172800), ("45", 45), ("1w", 604800),
    ("1h0m5s", 3605), ("1.5h", 5400), ("500ms", 0.5), (" 10M ", 600),
])
def test_valid(text, seconds):
    assert parse_duration(text) == pytest.approx(seconds)


@pytest.mark.parametrize("text", ["", "abc", "5x", "m5", "1h 30m", "-5m", "5m3", "1.2.3s", "s"])
def test_invalid_is_usage_error(text):
    with pytest.raises(UsageError):
        parse_duration(text)
