"""Selector syntax tree; `str(node)` is Calico's canonical form (libcalico-go `ast.go`).

Canonical form matters: two selectors that mean the same thing print the same, so a
selector can be stored, compared and shown back to the user without surprises.
"""

from __future__ import annotations

from dataclasses import dataclass
from typing import ClassVar


def quote(value: str) -> str:
    """Double quotes unless the value holds one (Calico has no escapes)."""
    return f"'{value}'" if '"' in value else f'"{value}"'


class Node:
    """Base of every selector node."""

    __slots__ = ()


@dataclass(frozen=True, slots=True)
class _LabelValue(Node):
    """`label OP "value"`: the five value comparisons differ only in OP (and in how the
    evaluator reads them, which matches on the concrete class)."""

    label: str
    value: str
    OP: ClassVar[str] = ""

    def __str__(self) -> str:
        return f"{self.label} {self.OP} {quote(self.value)}"


@dataclass(frozen=True, slots=True)
class LabelEq(_LabelValue):
    OP: ClassVar[str] = "=="


@dataclass(frozen=True, slots=True)
class LabelNe(_LabelValue):
    OP: ClassVar[str] = "!="


@dataclass(frozen=True, slots=True)
class LabelContains(_LabelValue):
    OP: ClassVar[str] = "contains"


@dataclass(frozen=True, slots=True)
class LabelStartsWith(_LabelValue):
    OP: ClassVar[str] = "starts with"


@dataclass(frozen=True, slots=True)
class LabelEndsWith(_LabelValue):
    OP: ClassVar[str] = "ends with"


@dataclass(frozen=True, slots=True)
class _LabelSet(Node):
    """`label OP {"a", "b"}`, values sorted so equal sets print alike."""

    label: str
    values: frozenset[str]
    OP: ClassVar[str] = ""

    def __str__(self) -> str:
        values = ", ".join(quote(v) for v in sorted(self.values))
        return f"{self.label} {self.OP} {{{values}}}"


@dataclass(frozen=True, slots=True)
class LabelIn(_LabelSet):
    OP: ClassVar[str] = "in"


@dataclass(frozen=True, slots=True)
class LabelNotIn(_LabelSet):
    OP: ClassVar[str] = "not in"


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
