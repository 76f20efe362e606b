"""Which `content:` of a rule occurs in the packet that raised the alert, as text spans.

The rule is parsed with dpictl's own parser (so `|0d 0a|` hex, escapes and `nocase` mean
what they mean to the engine), and each Content option is looked up in the packet bytes;
the spans returned are those of the matching `content:"..."` texts in the rule, in rule
order, for the renderer to highlight. A content that only matched across packets (a stream
or HTTP buffer) is not in this one packet, and is rightly not highlighted.
"""

from __future__ import annotations

import re

from dpictl.rules.ast import Content
from dpictl.errors import RuleSyntaxError
from dpictl.rules.parse import parse_rule

_CONTENT_TEXT = re.compile(r'\bcontent\s*:\s*!?\s*"(?:[^"\\]|\\.)*"')


def matched_content_spans(rule_text: str, packet: bytes) -> list[tuple[int, int]]:
    """(start, end) offsets in `rule_text` of every content found in `packet`."""
    try:
        rule = parse_rule(rule_text)
    except RuleSyntaxError:     # a rule this version cannot parse: shown without highlights
        return []
    contents = [opt for opt in rule.options if isinstance(opt, Content)]
    texts = list(_CONTENT_TEXT.finditer(rule_text))
    if len(texts) != len(contents):
        return []           # the text and the AST disagree: no guessing
    low = packet.lower()
    spans = []
    for opt, text in zip(contents, texts):
        haystack, needle = (low, opt.pattern.lower()) if opt.nocase else (packet, opt.pattern)
        if needle and not opt.negated and needle in haystack:
            spans.append(text.span())
    return spans


__all__ = ["matched_content_spans"]
