"""The list syntax shared by rule-header addresses and ports: `[a,!b,[c,$X]]`, `!$X`.

Addresses and ports differ only in their atoms (a CIDR vs. a port range), so one walker
flattens a spec into `(atom, negated)` pairs with variables expanded and negations pushed
down (`![a,!b]` -> a excluded, b included), `parse_spec` folds them into include/exclude
lists, and `addresses.py`/`ports.py` only say how to read and tidy their atoms.
"""

from __future__ import annotations

import re
from collections.abc import Callable
from typing import TypeVar

from dpictl.errors import RuleSyntaxError
from dpictl.rules.variables import Variables

_TOKEN = re.compile(r"\s*(\[|\]|,|!|[^\[\],!\s]+)")
_MAX_DEPTH = 16


Atom = TypeVar("Atom")
Spec = TypeVar("Spec")


def parse_spec(text: str, variables: Variables, what: str, atom: Callable[[str], Atom],
               tidy: Callable[[list[Atom]], tuple[Atom, ...]],
               spec: Callable[..., Spec]) -> Spec:
    """One header field -> `spec(any=, include=, exclude=)`, cached per text in `variables`.

    `atom` reads one atom (and raises on a bad one), `tidy` sorts/merges/dedupes a list of
    them. A field is `any` when it says `any` or includes nothing (`!x` means "all but x");
    `!any` matches nothing, so it is refused.
    """
    key = (what, text)
    cached = variables.cache.get(key)
    if cached is not None:
        return cached  # type: ignore[return-value]
    any_ = False
    include: list[Atom] = []
    exclude: list[Atom] = []
    for item, negated in flatten(text, variables, what):
        if item.lower() == "any":
            if negated:
                raise RuleSyntaxError(f"'!any' in {text!r} matches no {what}")
            any_ = True
            continue
        (exclude if negated else include).append(atom(item))
    if any_ or not include:
        result = spec(any=True, include=(), exclude=tidy(exclude))
    else:
        result = spec(any=False, include=tidy(include), exclude=tidy(exclude))
    variables.cache[key] = result
    return result


def flatten(text: str, variables: Variables, what: str) -> list[tuple[str, bool]]:
    """Flatten one header field into atoms; `what` ("address"/"port") names it in errors."""
    out: list[tuple[str, bool]] = []
    _flatten_into(text, variables, what, False, (), out)
    return out


def _tokens(text: str, what: str) -> list[str]:
    tokens: list[str] = []
    pos = 0
    text = text.rstrip()
    while pos < len(text):
        m = _TOKEN.match(text, pos)
        if not m:
            raise RuleSyntaxError(f"bad {what} list {text!r}")
        tokens.append(m.group(1))
        pos = m.end()
    return tokens


def _flatten_into(text: str, variables: Variables, what: str, negated: bool,
                  stack: tuple[str, ...], out: list[tuple[str, bool]]) -> None:
    if len(stack) > _MAX_DEPTH:
        raise RuleSyntaxError(f"variables nest too deeply: {' -> '.join(stack)}")
    tokens = _tokens(text, what)
    if not tokens:
        raise RuleSyntaxError(f"empty {what}")
    end = _item(tokens, 0, variables, what, negated, stack, out)
    if end != len(tokens):
        raise RuleSyntaxError(f"bad {what} list {text!r}: unexpected {tokens[end]!r}")


def _item(tokens: list[str], i: int, variables: Variables, what: str, negated: bool,
          stack: tuple[str, ...], out: list[tuple[str, bool]], depth: int = 0) -> int:
    """Parse one item starting at tokens[i]; return the index after it."""
    if i >= len(tokens):
        raise RuleSyntaxError(f"{what} list ends too early")
    tok = tokens[i]
    if tok == "!":
        return _item(tokens, i + 1, variables, what, not negated, stack, out, depth)
    if tok == "[":
        if depth >= _MAX_DEPTH:
            raise RuleSyntaxError(f"{what} lists nest too deeply")
        i += 1
        while True:
            i = _item(tokens, i, variables, what, negated, stack, out, depth + 1)
            if i >= len(tokens):
                raise RuleSyntaxError(f"{what} list is missing its closing ']'")
            if tokens[i] == "]":
                return i + 1
            if tokens[i] != ",":
                raise RuleSyntaxError(f"bad {what} list: expected ',' or ']' "
                                      f"before {tokens[i]!r}")
            i += 1
    if tok in ("]", ","):
        raise RuleSyntaxError(f"bad {what} list: unexpected {tok!r}")
    if tok.startswith("$"):
        name = tok[1:]
        if name in stack:
            raise RuleSyntaxError(f"variable ${name} refers to itself "
                                  f"({' -> '.join(stack + (name,))})")
        _flatten_into(variables.get(name), variables, what, negated, stack + (name,), out)
        return i + 1
    out.append((tok, negated))
    return i + 1


__all__ = ["flatten", "parse_spec"]
