"""The list syntax shared by rule-header addresses and ports: `[a,!b,[c,$X]]`, `!$X`.

The oracle is Suricata 7, so a list selects exactly what Suricata's parsers select
(detect-engine-address.c, detect-engine-port.c, checked against Suricata 7.0.10 by
`tests/parity/test_header_lists_vs_suricata.py`). A list is read into positive and negated
parts; the result is the union of the positives minus the union of the negated parts, and a
side that has negated parts but no positives starts from everything. Two quirks of those
files are kept on purpose, because rules must select the same packets in both engines:

- addresses are merged per family: `!1.1.1.1` is every IPv4 address but that one and no
  IPv6 address; a negated block (`![a,!b]`) is evaluated as a list of its own first (so
  nested negation flips: `![10/8,!10.1/16]` = all IPv4 outside 10/8, plus 10.1/16);
- ports are merged once, at the top: a negation is pushed down into a block rather than
  flipped, except on the block's last item (`![80,!81]` is port 81 only, while
  `![!81,80]` is everything but 80 and 81) - Suricata reads the last item of a list apart.

Several `!` in a row count as one, as in both Suricata parsers. A list that negates the
whole space (`!any`) or leaves nothing is refused, with the list in the message.
`addresses.py`/`ports.py` only say how to read one atom and how to render the result.
"""

from __future__ import annotations

import re
from collections.abc import Callable
from dataclasses import dataclass
from typing import TypeVar

from dpictl.errors import RuleSyntaxError
from dpictl.rules.variables import Variables

_TOKEN = re.compile(r"\s*(\[|\]|,|!|[^\[\],!\s]+)")
_MAX_DEPTH = 16

Interval = tuple[int, int]
# domain (4/6 for address families, 0 for ports) -> sorted, merged, inclusive intervals
Sets = dict[int, list[Interval]]
Spec = TypeVar("Spec")


@dataclass(frozen=True, slots=True)
class Space:
    """What one kind of list ranges over: its domains and how to read one atom."""

    what: str                                # "address" / "port", for messages
    domains: dict[int, Interval]             # the first one is checked for "negates all"
    atom: Callable[[str], Sets]              # raises RuleSyntaxError on a bad atom
    pushdown: bool                           # ports: Suricata's push-down negation
    # a check on each text Suricata scans (the field, each variable's value as inserted)
    check: Callable[[str], None] | None = None


@dataclass(slots=True)
class _Item:
    negated: bool
    atom: str | None = None
    var: str | None = None
    items: list[_Item] | None = None


def parse_spec(text: str, variables: Variables, space: Space,
               render: Callable[[Sets, Sets], Spec]) -> Spec:
    """One header field -> `render(include, exclude)`, cached per text in `variables`.

    `include` is the positive part (every domain filled in when only negations were given),
    `exclude` the negated part inside it: the field selects `include - exclude` exactly.
    """
    key = (space.what, text)
    cached = variables.cache.get(key)
    if cached is not None:
        return cached  # type: ignore[return-value]
    if space.check is not None:
        space.check(text)
    items = _parse_list(text, space.what)
    pos: Sets = {}
    neg: Sets = {}
    if space.pushdown:
        _collect_pushdown(items, False, variables, space, (), pos, neg, 0)
    else:
        _collect_grouped(items, variables, space, (), pos, neg, 0, text)
    include, exclude = _merge(pos, neg, space, text)
    result = render(include, exclude)
    variables.cache[key] = result
    return result


# -- set algebra over sorted inclusive intervals -----------------------------------------------
def _union(a: list[Interval], b: list[Interval]) -> list[Interval]:
    merged: list[Interval] = []
    for lo, hi in sorted(a + b):
        if merged and lo <= merged[-1][1] + 1:
            if hi > merged[-1][1]:
                merged[-1] = (merged[-1][0], hi)
        else:
            merged.append((lo, hi))
    return merged


def _intersect(a: list[Interval], b: list[Interval]) -> list[Interval]:
    out: list[Interval] = []
    i = j = 0
    while i < len(a) and j < len(b):
        lo, hi = max(a[i][0], b[j][0]), min(a[i][1], b[j][1])
        if lo <= hi:
            out.append((lo, hi))
        if a[i][1] < b[j][1]:
            i += 1
        else:
            j += 1
    return out


def subtract(a: list[Interval], b: list[Interval]) -> list[Interval]:
    """a - b, both sorted and merged."""
    out: list[Interval] = []
    for lo, hi in a:
        for blo, bhi in b:
            if bhi < lo or blo > hi:
                continue
            if blo > lo:
                out.append((lo, blo - 1))
            lo = bhi + 1
            if lo > hi:
                break
        if lo <= hi:
            out.append((lo, hi))
    return out


def _add(target: Sets, sets: Sets) -> None:
    for domain, intervals in sets.items():
        target[domain] = _union(target.get(domain, []), intervals)


def _merge(pos: Sets, neg: Sets, space: Space, text: str) -> tuple[Sets, Sets]:
    """Suricata's MergeNot: (positive part, negated part inside it); refuses empty results."""
    first = next(iter(space.domains))
    if neg.get(first) == [space.domains[first]]:
        raise RuleSyntaxError(f"{text!r} matches no {space.what}: it negates them all")
    include: Sets = {}
    exclude: Sets = {}
    left = False
    for domain, full in space.domains.items():
        cut = neg.get(domain, [])
        base = pos.get(domain) or ([full] if cut else [])
        if not base:
            continue
        include[domain] = base
        inside = _intersect(base, cut)
        if inside:
            exclude[domain] = inside
        left = left or bool(subtract(base, inside))
    if not left:
        raise RuleSyntaxError(f"{text!r} matches no {space.what}: nothing is left after "
                              f"its negations")
    return include, exclude


# -- the two ways Suricata folds a list ----------------------------------------------------
def _collect_grouped(items: list[_Item], variables: Variables, space: Space,
                     stack: tuple[str, ...], pos: Sets, neg: Sets, depth: int,
                     text: str) -> None:
    """Addresses: a negated block or variable is evaluated on its own, then negated whole.
    `text` is the whole field, for messages."""
    for item in items:
        if item.atom is not None:
            _add(neg if item.negated else pos, space.atom(item.atom))
            continue
        inner, inner_stack = _inner(item, variables, space.what, stack, depth)
        if not item.negated:
            _collect_grouped(inner, variables, space, inner_stack, pos, neg, depth + 1, text)
            continue
        sub_pos: Sets = {}
        sub_neg: Sets = {}
        _collect_grouped(inner, variables, space, inner_stack, sub_pos, sub_neg, depth + 1,
                         text)
        include, exclude = _merge(sub_pos, sub_neg, space, text)
        _add(neg, {d: subtract(ivs, exclude.get(d, [])) for d, ivs in include.items()})


def _collect_pushdown(items: list[_Item], negate: bool, variables: Variables, space: Space,
                      stack: tuple[str, ...], pos: Sets, neg: Sets, depth: int) -> None:
    """Ports: negation is pushed down into blocks; an atom is negated when its block is or
    it is (the last item of a list: when exactly one of them is), as detect-engine-port.c
    reads a comma-terminated item and the final one differently."""
    for index, item in enumerate(items):
        if item.atom is not None:
            last = index == len(items) - 1
            negated = (negate != item.negated) if last else (negate or item.negated)
            _add(neg if negated else pos, space.atom(item.atom))
            continue
        inner, inner_stack = _inner(item, variables, space.what, stack, depth)
        if item.items is not None:
            inner_negate = negate or item.negated
        else:
            inner_negate = negate != item.negated
            last = index == len(items) - 1
            if space.check is not None:   # the value is scanned as Suricata inserts it
                value = variables.get(item.var or "")
                wrapped = inner_negate if last else (negate or item.negated)
                space.check(f"[{value}]" if wrapped else value)
        _collect_pushdown(inner, inner_negate, variables, space, inner_stack, pos, neg,
                          depth + 1)


def _inner(item: _Item, variables: Variables, what: str, stack: tuple[str, ...],
           depth: int) -> tuple[list[_Item], tuple[str, ...]]:
    """The items of a block, or of a variable's value (with its name on the stack)."""
    if depth >= _MAX_DEPTH or len(stack) > _MAX_DEPTH:
        raise RuleSyntaxError(f"{what} lists nest too deeply")
    if item.items is not None:
        return item.items, stack
    name = item.var or ""
    if name in stack:
        raise RuleSyntaxError(f"variable ${name} refers to itself "
                              f"({' -> '.join(stack + (name,))})")
    return _parse_list(variables.get(name), what), stack + (name,)


# -- syntax --------------------------------------------------------------------------------
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


def _parse_list(text: str, what: str) -> list[_Item]:
    """`a,!b,[c,d]` (a field or a variable's value) -> its top-level items."""
    tokens = _tokens(text, what)
    if not tokens:
        raise RuleSyntaxError(f"empty {what}")
    items, end = _items(tokens, 0, what, text, 0)
    if end != len(tokens):
        raise RuleSyntaxError(f"bad {what} list {text!r}: unexpected {tokens[end]!r}")
    return items


def _items(tokens: list[str], i: int, what: str, text: str,
           depth: int) -> tuple[list[_Item], int]:
    items: list[_Item] = []
    while True:
        item, i = _item(tokens, i, what, text, depth)
        items.append(item)
        if i >= len(tokens) or tokens[i] != ",":
            return items, i
        i += 1


def _item(tokens: list[str], i: int, what: str, text: str, depth: int) -> tuple[_Item, int]:
    negated = False
    while i < len(tokens) and tokens[i] == "!":
        negated, i = True, i + 1
    if i >= len(tokens):
        raise RuleSyntaxError(f"{what} list ends too early")
    tok = tokens[i]
    if tok == "[":
        if depth >= _MAX_DEPTH:
            raise RuleSyntaxError(f"{what} lists nest too deeply")
        inner, i = _items(tokens, i + 1, what, text, depth + 1)
        if i >= len(tokens):
            raise RuleSyntaxError(f"{what} list is missing its closing ']'")
        if tokens[i] != "]":
            raise RuleSyntaxError(f"bad {what} list: expected ',' or ']' before {tokens[i]!r}")
        return _Item(negated, items=inner), i + 1
    if tok in ("]", ","):
        raise RuleSyntaxError(f"bad {what} list: unexpected {tok!r}")
    if tok.startswith("$"):
        return _Item(negated, var=tok[1:]), i + 1
    return _Item(negated, atom=tok), i + 1


__all__ = ["Interval", "Sets", "Space", "parse_spec", "subtract"]
