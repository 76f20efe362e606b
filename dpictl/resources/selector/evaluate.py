"""Evaluate a selector tree against a label map (semantics of libcalico-go `ast.go`).

Kept apart from the tree so the tree stays plain data; `!=` and `not in` are true when the
label is absent, everything else that names a label needs it present.
"""

from __future__ import annotations

from collections.abc import Mapping

from dpictl.resources.selector import ast


def evaluate(node: ast.Node, labels: Mapping[str, str]) -> bool:
    """True when `labels` satisfy `node`."""
    match node:
        case ast.All() | ast.Global():
            return True
        case ast.Has(label=label):
            return label in labels
        case ast.LabelEq(label=label, value=value):
            return labels.get(label) == value
        case ast.LabelNe(label=label, value=value):
            return labels.get(label) != value
        case ast.LabelContains(label=label, value=value):
            return label in labels and value in labels[label]
        case ast.LabelStartsWith(label=label, value=value):
            return label in labels and labels[label].startswith(value)
        case ast.LabelEndsWith(label=label, value=value):
            return label in labels and labels[label].endswith(value)
        case ast.LabelIn(label=label, values=values):
            return label in labels and labels[label] in values
        case ast.LabelNotIn(label=label, values=values):
            return label not in labels or labels[label] not in values
        case ast.Not(operand=operand):
            return not evaluate(operand, labels)
        case ast.And(operands=operands):
            return all(evaluate(op, labels) for op in operands)
        case ast.Or(operands=operands):
            return any(evaluate(op, labels) for op in operands)
    raise TypeError(f"not a selector node: {node!r}")


__all__ = ["evaluate"]
