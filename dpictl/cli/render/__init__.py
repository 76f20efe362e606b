"""Output for people and programs: alert tables, EVE lines, JSON arrays, progress and summaries.

Every renderer takes the rich Console to write to, so commands choose stdout/stderr and tests
capture output with `Console(file=StringIO())`.
"""
