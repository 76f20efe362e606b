"""One rule's text -> `Rule`. The loader (`ruleset.py`) calls this per logical line.

Errors are `RuleSyntaxError`s carrying file, line and (when the text has one) the sid, so a
broken rule is reported where it is and the rest of the file still loads.
"""

from __future__ import annotations

import re

from dpictl.errors import RuleSyntaxError
from dpictl.rules.ast import Rule
from dpictl.rules.classifications import lookup
from dpictl.rules.dialect import Syntax, detect
from dpictl.rules.header import header_fields, parse_header
from dpictl.rules.options import OptionBuilder
from dpictl.rules.tokens import split_options, split_rule
from dpictl.rules.variables import Variables

_MAX_REASON = 200
_SID = re.compile(r"[(;]\s*sid\s*:\s*(\d+)")


def sid_of(text: str) -> int | None:
    """The sid a rule's text names, found without parsing it (for error reports)."""
    m = _SID.search(text)
    return int(m.group(1)) if m else None


def parse_rule(text: str, variables: Variables | None = None, *, file: str | None = None,
               line: int | None = None, hint: Syntax | None = None) -> Rule:
    """Parse one rule (either syntax). Raises RuleSyntaxError with file/line/sid set."""
    try:
        return _parse(text, variables or Variables(), file, line, hint)
    except RuleSyntaxError as err:
        reason = err.message if len(err.message) <= _MAX_REASON else (
            err.message[:_MAX_REASON - 3] + "...")      # values are quoted in messages
        raise RuleSyntaxError(reason, file=file, line=line, sid=sid_of(text)) from None


def _parse(text: str, variables: Variables, file: str | None, line: int | None,
           hint: Syntax | None) -> Rule:
    head_text, body = split_rule(text)
    fields = header_fields(head_text)
    raw_options = split_options(body)
    syntax = detect(fields, raw_options, hint)
    header = parse_header(fields, variables)
    options, meta = OptionBuilder(syntax).build(raw_options)
    if meta.sid is None:
        raise RuleSyntaxError("rule has no sid")
    priority = meta.priority if meta.priority is not None else lookup(meta.classtype)[1]
    services = tuple(dict.fromkeys(header.services + tuple(meta.services)))
    return Rule(
        action=header.action, proto=header.proto, src=header.src, src_ports=header.src_ports,
        bidirectional=header.bidirectional, dst=header.dst, dst_ports=header.dst_ports,
        sid=meta.sid, gid=meta.gid, rev=meta.rev, msg=meta.msg, classtype=meta.classtype,
        priority=priority, services=services, metadata=tuple(meta.metadata),
        references=tuple(meta.references), options=options, text=text, file=file, line=line,
        syntax=syntax,
    )


__all__ = ["parse_rule", "sid_of"]
