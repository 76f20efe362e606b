"""Selector syntax tree; `str(node)` is Calico's canonical form (libcalico-go `ast.go`).

Canonical form matters: two selectors that mean the same thing print the same, so a
selector can be stored, compared and shown back to the user without surprises.
"""

from __future__ import annotations

from dataclasses import dataclass


def quote(value: str) -> str:
    """Double quotes unless the value holds one (Calico has no escapes)."""
    return f"'{value}'" if '"' in value else f'"{value}"'


class Node:
    """Base of every selector node."""

    __slots__ = ()


@dataclass(frozen=True, slots=True)
class LabelEq(Node):
    label: str
    value: str

    def __str__(self) -> str:
        return f"{self.label} == {quote(self.value)}"


@dataclass(frozen=True, slots=True)
class LabelNe(Node):
    label: str
    value: str

    def __str__(self) -> str:
        return f"{self.label} != {quote(self.value)}"


@dataclass(frozen=True, slots=True)
class LabelContains(Node):
    label: str
    value: str

    def __str__(self) -> str:
        return f"{self.label} contains {quote(self.value)}"


@dataclass(frozen=True, slots=True)
class LabelStartsWith(Node):
    label: str
    value: str

    def __str__(self) -> str:
        return f"{self.label} starts with {quote(self.value)}"


@dataclass(frozen=True, slots=True)
class LabelEndsWith(Node):
    label: str
    value: str

    def __str__(self) -> str:
        return f"{self.label} ends with {quote(self.value)}"


def _set_text(values: frozenset[str]) -> str:
    return "{" + ", ".join(quote(v) for v in sorted(values)) + "}"


@dataclass(frozen=True, slots=True)
class LabelIn(Node):
    label: str
    values: frozenset[str]

    def __str__(self) -> str:
        return f"{self.label} in {_set_text(self.values)}"


@dataclass(frozen=True, slots=True)
class LabelNotIn(Node):
    label: str
    values: frozenset[str]

    def __str__(self) -> str:
        return f"{self.label} not in {_set_text(self.values)}"


@dataclass(frozen=True, slots=True)
class Has(Node):
    label: str

    def __str__(self) -> str:
        return f"has({self.label})"


@dataclass(frozen=True, slots=True)
class All(Node):
    def __str__(self) -> str:
        return "all()"


@dataclass(frozen=True, slots=True)
class Global(Node):
    """True at evaluation time; its meaning is scoping in namespaceSelector context."""

    def __str__(self) -> str:
        return "global()"


@dataclass(frozen=True, slots=True)
class Not(Node):
    operand: Node

    def __str__(self) -> str:
        return f"!{self.operand}"


@dataclass(frozen=True, slots=True)
class And(Node):
    operands: tuple[Node, ...]

    def __str__(self) -> str:
        return "(" + " && ".join(str(op) for op in self.operands) + ")"


@dataclass(frozen=True, slots=True)
class Or(Node):
    operands: tuple[Node, ...]

    def __str__(self) -> str:
        return "(" + " || ".join(str(op) for op in self.operands) + ")"


__all__ = ["Node", "LabelEq", "LabelNe", "LabelContains", "LabelStartsWith", "LabelEndsWith",
           "LabelIn", "LabelNotIn", "Has", "All", "Global", "Not", "And", "Or", "quote"]
