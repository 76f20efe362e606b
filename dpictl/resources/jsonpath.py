"""kubectl's `-o jsonpath=` template language (the subset scripts use).

Written here rather than with jsonpath-ng because kubectl's language is a *template*:
literal text around `{expr}` blocks, `{range EXPR}...{end}`, `{"\\n"}` literals, several
results of one expression joined by spaces, and missing keys printing nothing. The path
part is small: `.a.b`, `['a.b']`, `[n]`, `[a:b]`, `[*]`, `.*`, `..name`, `[?(@.k=="v")]`.
"""

from __future__ import annotations

import json
import re
from dataclasses import dataclass
from typing import Any

from dpictl.errors import UsageError

_HINT = "e.g. -o jsonpath='{.status.podIP}' or '{range .items[*]}{.metadata.name}{\"\\n\"}{end}'"


@dataclass(frozen=True, slots=True)
class _Text:
    text: str


@dataclass(frozen=True, slots=True)
class _Expr:
    path: str


@dataclass(frozen=True, slots=True)
class _Range:
    path: str
    body: tuple


def _blocks(template: str) -> list[tuple[bool, str]]:
    """Split into (is_expression, text) pieces; braces inside quotes don't count."""
    out: list[tuple[bool, str]] = []
    i, n = 0, len(template)
    while i < n:
        start = template.find("{", i)
        if start < 0:
            out.append((False, template[i:]))
            break
        if start > i:
            out.append((False, template[i:start]))
        j, quote = start + 1, ""
        while j < n:
            ch = template[j]
            if quote:
                if ch == "\\":
                    j += 1
                elif ch == quote:
                    quote = ""
            elif ch in "\"'":
                quote = ch
            elif ch == "}":
                break
            j += 1
        if j >= n:
            raise UsageError(f"unclosed action in jsonpath template {template!r}", hint=_HINT)
        out.append((True, template[start + 1:j].strip()))
        i = j + 1
    return out


def _parse(template: str) -> tuple:
    stack: list[tuple[str, list]] = [("", [])]
    for is_expr, text in _blocks(template):
        if not is_expr:
            stack[-1][1].append(_Text(text))
        elif text.startswith("range ") or text == "range":
            stack.append((text[5:].strip(), []))
        elif text == "end":
            if len(stack) == 1:
                raise UsageError("{end} without {range} in jsonpath template", hint=_HINT)
            path, body = stack.pop()
            stack[-1][1].append(_Range(path, tuple(body)))
        elif text[:1] in "\"'":
            stack[-1][1].append(_Text(_literal(text)))
        else:
            stack[-1][1].append(_Expr(text))
    if len(stack) != 1:
        raise UsageError("{range} without {end} in jsonpath template", hint=_HINT)
    return tuple(stack[0][1])


def _literal(text: str) -> str:
    if len(text) < 2 or text[-1] != text[0]:
        raise UsageError(f"unterminated string {text!r} in jsonpath template", hint=_HINT)
    return text[1:-1].encode("utf-8").decode("unicode_escape")


_SEGMENT = re.compile(
    r"""\.\.(?P<desc>[^.\[]+)"""                          # ..name (recursive descent)
    r"""|\.(?P<name>(?:\\.|[^.\[\\\s])+)"""                # .name, dots escaped as \.
    r"""|\[(?P<bracket>(?:'[^']*'|"[^"]*"|[^\]])*)\]""")   # [...]


def _segments(path: str) -> list[tuple[str, str]]:
    if path.startswith("$"):
        path = path[1:]
    if path and path[0] not in ".[":
        path = "." + path
    segs, pos = [], 0
    while pos < len(path):
        m = _SEGMENT.match(path, pos)
        if not m:
            raise UsageError(f"invalid jsonpath expression {path!r} at {path[pos:]!r}",
                             hint=_HINT)
        kind = m.lastgroup or ""
        segs.append((kind, m.group(kind).replace("\\.", ".") if kind == "name"
                     else m.group(kind)))
        pos = m.end()
    return segs


def _children(value: Any) -> list:
    if isinstance(value, dict):
        return list(value.values())
    if isinstance(value, list):
        return list(value)
    return []


def _descend(value: Any, key: str) -> list:
    found = []
    if isinstance(value, dict):
        if key in value:
            found.append(value[key])
    for child in _children(value):
        found.extend(_descend(child, key))
    return found


_FILTER = re.compile(r"""^\?\(@\.(?P<key>[\w.\-/]+)\s*"""
                     r"""(?:(?P<op>==|!=)\s*(?P<val>'[^']*'|"[^"]*"|[\w.\-]+))?\)$""")


def _bracket(values: list, inner: str) -> list:
    inner = inner.strip()
    out: list = []
    if inner == "*":
        for v in values:
            out.extend(_children(v))
        return out
    if inner[:1] in "\"'":
        key = inner[1:-1]
        return [v[key] for v in values if isinstance(v, dict) and key in v]
    m = _FILTER.match(inner)
    if m:
        return [item for v in values for item in _children(v) if _filter_ok(item, m)]
    for v in values:
        if not isinstance(v, list):
            continue
        if ":" in inner:
            parts = [int(p) if p.strip() else None for p in inner.split(":")[:3]]
            out.extend(v[slice(*parts)])
        else:
            try:
                index = int(inner)
            except ValueError:
                raise UsageError(f"invalid jsonpath subscript [{inner}]", hint=_HINT) from None
            if -len(v) <= index < len(v):
                out.append(v[index])
    return out


def _filter_ok(item: Any, m: re.Match) -> bool:
    value: Any = item
    for key in m.group("key").split("."):
        if not isinstance(value, dict) or key not in value:
            return False
        value = value[key]
    if not m.group("op"):
        return True
    want = m.group("val").strip("'\"")
    equal = _scalar(value) == want
    return equal if m.group("op") == "==" else not equal


def find(data: Any, path: str) -> list:
    """Every value `path` reaches in `data` (missing keys reach nothing)."""
    values = [data]
    for kind, arg in _segments(path.strip()):
        if kind == "desc":
            values = [x for v in values for x in _descend(v, arg)]
        elif kind == "name" and arg == "*":
            values = [x for v in values for x in _children(v)]
        elif kind == "name":
            values = [v[arg] for v in values if isinstance(v, dict) and arg in v]
        else:
            values = _bracket(values, arg)
    return values


def _scalar(value: Any) -> str:
    if isinstance(value, str):
        return value
    if isinstance(value, bool):
        return "true" if value else "false"
    if value is None:
        return ""
    if isinstance(value, (int, float)):
        return str(value)
    return json.dumps(value, separators=(",", ":"))


def _render(nodes: tuple, data: Any, out: list[str]) -> None:
    for node in nodes:
        if isinstance(node, _Text):
            out.append(node.text)
        elif isinstance(node, _Expr):
            out.append(" ".join(_scalar(v) for v in find(data, node.path)))
        else:
            items = find(data, node.path)
            if len(items) == 1 and isinstance(items[0], list):
                items = items[0]
            for item in items:
                _render(node.body, item, out)


def render_jsonpath(template: str, data: Any) -> str:
    """Fill a kubectl jsonpath template from `data` (no trailing newline, like kubectl)."""
    out: list[str] = []
    _render(_parse(template), data, out)
    return "".join(out)


__all__ = ["render_jsonpath", "find"]
