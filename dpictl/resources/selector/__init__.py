"""Calico label selectors: parse once, match many label maps, print canonically."""

from __future__ import annotations

import hashlib
from collections.abc import Mapping
from dataclasses import dataclass

from dpictl.errors import SelectorSyntaxError
from dpictl.resources.selector import ast
from dpictl.resources.selector.evaluate import evaluate
from dpictl.resources.selector.parse import parse_tree


@dataclass(frozen=True, slots=True)
class Selector:
    """A parsed selector. Equal selectors have equal canonical text."""

    root: ast.Node

    def matches(self, labels: Mapping[str, str]) -> bool:
        return evaluate(self.root, labels)

    def __str__(self) -> str:
        return str(self.root)

    @property
    def uid(self) -> str:
        """A stable id for the canonical form (Calico: "s:" + hash)."""
        return "s:" + hashlib.sha224(str(self.root).encode()).hexdigest()[:40]

    def __and__(self, other: "Selector") -> "Selector":
        return Selector(ast.And((self.root, other.root)))


def parse_selector(text: str) -> Selector:
    """Parse Calico selector text; an empty selector means all()."""
    if not isinstance(text, str):
        raise SelectorSyntaxError(f"selector must be a string, not {type(text).__name__}")
    return Selector(parse_tree(text))


__all__ = ["Selector", "parse_selector", "SelectorSyntaxError", "ast"]
