"""What the engine does with each keyword it cannot evaluate, decided once per keyword.

Every decision is reported per rule at load time (`Engine.rule_report`): a rule is either
*dropped* (it cannot be evaluated faithfully, so it never alerts) or *loaded with a
caveat* (the keyword only changes logging, not whether the rule matches). Suricata 7, the
oracle, rejects sip_* (and so do we, with the same reason). ssl_state/ssl_version
(`tls_keywords`) and dce_iface/dce_opnum/dce_stub_data (`dce_keywords`) are evaluated on
dpictl's own TLS and DCE/RPC parsers, so they never reach this table.
"""

from __future__ import annotations

# keyword -> (drop the rule?, reason)
KEYWORD_DECISIONS: dict[str, tuple[bool, str]] = {
    "sip_method": (True, "sip_method: no SIP parser (Suricata 7 rejects this keyword too)"),
    "sip_stat_code": (True, "sip_stat_code: no SIP parser (Suricata 7 rejects this keyword too)"),
    "sip_header": (True, "sip_header: no SIP parser (Suricata 7 rejects this keyword too)"),
    "sip_body": (True, "sip_body: no SIP parser"),
    "tag": (False, "tag ignored: it only logs extra packets after an alert"),
    "react": (False, "react ignored: an IDS does not answer"),
    "resp": (False, "resp ignored: an IDS does not answer"),
    "replace": (False, "replace ignored: an IDS does not rewrite packets"),
    "sameip": (False, "sameip evaluated"),
}

# Buffers that need a parser dpictl does not have: rules inspecting them are dropped.
UNSUPPORTED_BUFFERS: dict[str, str] = {
    "sip_method": "sip_method: no SIP parser", "sip_stat_code": "sip_stat_code: no SIP parser",
    "sip_header": "sip_header: no SIP parser", "sip_body": "sip_body: no SIP parser",
    "js_data": "js_data: no JavaScript normaliser",
    "vba_data": "vba_data: no VBA macro decompressor",
}

# Application protocols dpictl parses; `alert <service>` rules for others are dropped.
SERVICE_PROTOCOLS = frozenset({"http"})


def keyword_decision(keyword: str) -> tuple[bool, str]:
    """(drop, reason) for a keyword the parser kept as Unsupported."""
    return KEYWORD_DECISIONS.get(keyword, (True, f"keyword {keyword!r} is not supported"))


__all__ = ["KEYWORD_DECISIONS", "UNSUPPORTED_BUFFERS", "SERVICE_PROTOCOLS", "keyword_decision"]
