"""Fuzzing that stays in CI: Hypothesis-driven inputs over the parsers that read untrusted
bytes and text (capture files, frames, rules, selectors, manifests), each asserting that only
the documented error types come out and that nothing hangs.

Bounded by construction: every input is small (seeds of a few KiB, generated texts of a few
hundred characters) and every test has a fixed example budget, so the whole folder runs in
about a minute. The "ci" profile is derandomized (the same examples every run, so CI is not
flaky); `DPICTL_FUZZ_PROFILE=explore DPICTL_FUZZ_SCALE=20` fuzzes with fresh random inputs
and twenty times the examples (see budget.py).
"""

from __future__ import annotations

import os

from hypothesis import HealthCheck, settings

_COMMON = dict(deadline=None, print_blob=True,
               suppress_health_check=[HealthCheck.too_slow, HealthCheck.data_too_large,
                                      HealthCheck.function_scoped_fixture])
settings.register_profile("ci", derandomize=True, database=None, **_COMMON)
settings.register_profile("explore", **_COMMON)
settings.load_profile(os.environ.get("DPICTL_FUZZ_PROFILE", "ci"))
