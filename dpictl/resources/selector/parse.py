"""Recursive-descent parser for Calico selectors (grammar of libcalico-go `parser.go`).

    selector  := <empty> | or_expr EOF
    or_expr   := and_expr { "||" and_expr }
    and_expr  := operation { "&&" operation }
    operation := { "!" } ( has(L) | all() | global() | L op STRING | L (in|not in) SET
                         | "(" or_expr ")" )

A run of `!` collapses by parity and binds to one whole operation.

Parentheses nest at most `MAX_NESTING` deep: each level costs the parser (and later the
evaluator) a few stack frames, and past ~250 levels Python's recursion limit turned a silly
selector into an internal error instead of a syntax error.
"""

from __future__ import annotations

from dpictl.resources.selector import ast
from dpictl.resources.selector.errors import selector_error
from dpictl.resources.selector.tokens import Tok, Token, tokenize

_STRING_OPS: dict[Tok, type[ast.Node]] = {
    Tok.EQ: ast.LabelEq, Tok.NE: ast.LabelNe, Tok.CONTAINS: ast.LabelContains,
    Tok.STARTS_WITH: ast.LabelStartsWith, Tok.ENDS_WITH: ast.LabelEndsWith,
}
_SET_OPS: dict[Tok, type[ast.Node]] = {Tok.IN: ast.LabelIn, Tok.NOT_IN: ast.LabelNotIn}
MAX_NESTING = 100


class _Parser:
    def __init__(self, text: str) -> None:
        self.text = text
        self.tokens = tokenize(text)
        self.i = 0
        self.depth = 0

    def peek(self) -> Token:
        return self.tokens[self.i]

    def take(self) -> Token:
        tok = self.tokens[self.i]
        if tok.kind is not Tok.EOF:
            self.i += 1
        return tok

    def fail(self, tok: Token, expected: str) -> Exception:
        found = "end of selector" if tok.kind is Tok.EOF else repr(tok.value or tok.kind.value)
        return selector_error(self.text, tok.pos, f"expected {expected}, found {found}")

    def parse(self) -> ast.Node:
        if self.peek().kind is Tok.EOF:
            return ast.All()
        node = self.or_expr()
        tok = self.peek()
        if tok.kind is not Tok.EOF:
            raise self.fail(tok, "'&&', '||' or end of selector")
        return node

    def or_expr(self) -> ast.Node:
        operands = [self.and_expr()]
        while self.peek().kind is Tok.OR:
            self.take()
            operands.append(self.and_expr())
        return operands[0] if len(operands) == 1 else ast.Or(tuple(operands))

    def and_expr(self) -> ast.Node:
        operands = [self.operation()]
        while self.peek().kind is Tok.AND:
            self.take()
            operands.append(self.operation())
        return operands[0] if len(operands) == 1 else ast.And(tuple(operands))

    def operation(self) -> ast.Node:
        negations = 0
        while self.peek().kind is Tok.NOT:
            self.take()
            negations += 1
        node = self.primary()
        return ast.Not(node) if negations % 2 else node

    def primary(self) -> ast.Node:
        tok = self.take()
        if tok.kind is Tok.HAS:
            return ast.Has(tok.value)
        if tok.kind is Tok.ALL:
            return ast.All()
        if tok.kind is Tok.GLOBAL:
            return ast.Global()
        if tok.kind is Tok.LPAREN:
            self.depth += 1
            if self.depth > MAX_NESTING:
                raise selector_error(self.text, tok.pos,
                                     f"parentheses nested more than {MAX_NESTING} deep")
            inner = self.or_expr()
            self.depth -= 1
            close = self.take()
            if close.kind is not Tok.RPAREN:
                raise self.fail(close, "')'")
            return inner
        if tok.kind is Tok.LABEL:
            return self.comparison(tok.value)
        raise self.fail(tok, "a label, has(), all(), global(), '!' or '('")

    def comparison(self, label: str) -> ast.Node:
        op = self.take()
        if op.kind in _STRING_OPS:
            value = self.take()
            if value.kind is not Tok.STRING:
                raise self.fail(value, "a quoted string")
            return _STRING_OPS[op.kind](label, value.value)  # type: ignore[call-arg]
        if op.kind in _SET_OPS:
            return _SET_OPS[op.kind](label, self.set_literal())  # type: ignore[call-arg]
        raise self.fail(op, "an operator")

    def set_literal(self) -> frozenset[str]:
        tok = self.take()
        if tok.kind is not Tok.LBRACE:
            raise self.fail(tok, "set literal '{...}'")
        values: set[str] = set()
        while True:
            tok = self.take()
            if tok.kind is Tok.RBRACE:
                return frozenset(values)
            if tok.kind is not Tok.STRING:
                raise self.fail(tok, "'}'")
            values.add(tok.value)
            tok = self.take()
            if tok.kind is Tok.RBRACE:
                return frozenset(values)
            if tok.kind is not Tok.COMMA:
                raise self.fail(tok, "',' or '}'")


def parse_tree(text: str) -> ast.Node:
    """Parse selector text into its tree; raises SelectorSyntaxError."""
    return _Parser(text).parse()


__all__ = ["parse_tree", "MAX_NESTING"]
