"""Selector errors: one helper that points at the offending column.

The error class itself is `dpictl.errors.SelectorSyntaxError` (shared tree, exit code 3);
this module only formats messages the same way for the tokenizer and the parser.
"""

from __future__ import annotations

from dpictl.errors import SelectorSyntaxError

_HINT = ("see the Calico selector syntax: k == 'v', k != 'v', k in {'a','b'}, has(k), all(), "
         "joined with && and ||")


def selector_error(text: str, pos: int, what: str) -> SelectorSyntaxError:
    """A SelectorSyntaxError naming the selector, the column and what went wrong."""
    return SelectorSyntaxError(f"invalid selector {text!r} at column {pos + 1}: {what}",
                               hint=_HINT)


__all__ = ["SelectorSyntaxError", "selector_error"]
