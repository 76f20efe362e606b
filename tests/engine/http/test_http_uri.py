"""http_uri normalisation; every expected value was read from Suricata 7.0.10 probe rules."""

from __future__ import annotations

import pytest

from dpictl.engine.http import normalize_uri

CASES = [
    (b"/a/./b/../c//d%41%u0042e%2fg?q=%41+1&r=/./x", b"/a/c/dABe/g?q=A+1&r=/./x"),
    (b"http://Host.com:80/a/../b?x", b"/b?x"),                 # absolute form: path only
    (b"/a\\b/%5c/x", b"/a/b/x"),                               # backslashes are separators
    (b"/../../etc/./passwd/.", b"/etc/passwd"),
    (b"/a%zz%4/b%00c+d", b"/a%zz%4/b\x00c+d"),                # bad escapes kept, NUL decoded
    (b"/x//y/?a=1//2", b"/x/y/?a=1//2"),                      # query untouched
    (b"/%u00e9%U0041", b"/?A"),
    (b"/b%c3%a9", b"/b\xe9"),                                  # UTF-8 -> best-fit byte
    (b"/b%e9x", b"/b?x"),                                      # invalid UTF-8 -> '?'
    (b"/A%2E%2e/b", b"/A../b"),
    (b"/a/%2E%2e/b", b"/b"),
    (b"/p?a=%2F%2e%2e/c#frag", b"/p?a=/../c#frag"),
    (b"/p#frag", b"/p#frag"),
    (b"/a/..", b""),
    (b"/a/b/..", b"/a"),
    (b"/a/b/.", b"/a/b"),
    (b"*", b"*"),
    (b"/a?x=%u00e9&y=%e9", b"/a?x=%u00e9&y=\xe9"),            # %u not decoded in the query
    (b"/a/b/../../../c", b"/c"),
    (b"a/b", b"a/b"),
    (b"/%uff41", b"/a"),                                       # full-width forms
]


@pytest.mark.parametrize("raw,expected", CASES, ids=[c[0].decode("latin-1") for c in CASES])
def test_normalize_uri(raw, expected):
    assert normalize_uri(raw) == expected
