"""Classtypes: the standard Snort classification table (name -> description, priority).

Alerts show the description and take their priority from the rule's classtype unless the rule
says `priority:`; keeping the table as data here means no classification.config is needed at
run time. `load_classification_config` reads one when a deployment has its own.
"""

from __future__ import annotations

import re
from pathlib import Path
from typing import NamedTuple

from dpictl.errors import InputError

DEFAULT_PRIORITY = 3


class Classification(NamedTuple):
    description: str
    priority: int


CLASSIFICATIONS: dict[str, Classification] = {
    "not-suspicious": Classification("Not Suspicious Traffic", 3),
    "unknown": Classification("Unknown Traffic", 3),
    "bad-unknown": Classification("Potentially Bad Traffic", 2),
    "attempted-recon": Classification("Attempted Information Leak", 2),
    "successful-recon-limited": Classification("Information Leak", 2),
    "successful-recon-largescale": Classification("Large Scale Information Leak", 2),
    "attempted-dos": Classification("Attempted Denial of Service", 2),
    "successful-dos": Classification("Denial of Service", 2),
    "attempted-user": Classification("Attempted User Privilege Gain", 1),
    "unsuccessful-user": Classification("Unsuccessful User Privilege Gain", 1),
    "successful-user": Classification("Successful User Privilege Gain", 1),
    "attempted-admin": Classification("Attempted Administrator Privilege Gain", 1),
    "successful-admin": Classification("Successful Administrator Privilege Gain", 1),
    "rpc-portmap-decode": Classification("Decode of an RPC Query", 2),
    "shellcode-detect": Classification("Executable code was detected", 1),
    "string-detect": Classification("A suspicious string was detected", 3),
    "suspicious-filename-detect": Classification("A suspicious filename was detected", 2),
    "suspicious-login": Classification("An attempted login using a suspicious username was detected", 2),
    "system-call-detect": Classification("A system call was detected", 2),
    "tcp-connection": Classification("A TCP connection was detected", 4),
    "trojan-activity": Classification("A Network Trojan was detected", 1),
    "unusual-client-port-connection": Classification("A client was using an unusual port", 2),
    "network-scan": Classification("Detection of a Network Scan", 3),
    "denial-of-service": Classification("Detection of a Denial of Service Attack", 2),
    "non-standard-protocol": Classification("Detection of a non-standard protocol or event", 2),
    "protocol-command-decode": Classification("Generic Protocol Command Decode", 3),
    "web-application-activity": Classification("access to a potentially vulnerable web application", 2),
    "web-application-attack": Classification("Web Application Attack", 1),
    "misc-activity": Classification("Misc activity", 3),
    "misc-attack": Classification("Misc Attack", 2),
    "icmp-event": Classification("Generic ICMP event", 3),
    "inappropriate-content": Classification("Inappropriate Content was Detected", 1),
    "policy-violation": Classification("Potential Corporate Privacy Violation", 1),
    "default-login-attempt": Classification("Attempt to login by a default username and password", 2),
    "targeted-activity": Classification("Targeted Malicious Activity was Detected", 1),
    "exploit-kit": Classification("Exploit Kit Activity Detected", 1),
    "external-ip-check": Classification("Device Retrieving External IP Address Detected", 2),
    "domain-c2": Classification("Domain Observed Used for C2 Detected", 1),
    "pup-activity": Classification("Possibly Unwanted Program Detected", 2),
    "credential-theft": Classification("Successful Credential Theft Detected", 1),
    "social-engineering": Classification("Possible Social Engineering Attempted", 2),
    "coin-mining": Classification("Crypto Currency Mining Activity Detected", 2),
    "command-and-control": Classification("Malware Command and Control Activity Detected", 1),
    # in Snort's own classification.config, not in Suricata's
    "sdf": Classification("Sensitive Data", 2),
    "file-format": Classification("Known malicious file or file based exploit", 1),
    "malware-cnc": Classification("Known malware command and control traffic", 1),
    "client-side-exploit": Classification("Known client side exploit attempt", 1),
}

_LINE = re.compile(r"\s*config\s+classification\s*:\s*([^,]+),([^,]+),\s*(\d+)\s*\Z")


def lookup(classtype: str | None) -> tuple[str, int]:
    """(description, priority) of a classtype; unknown or missing -> (name or "", 3)."""
    if classtype is None:
        return ("", DEFAULT_PRIORITY)
    found = CLASSIFICATIONS.get(classtype)
    if found is None:
        return (classtype, DEFAULT_PRIORITY)
    return (found.description, found.priority)


def is_known(classtype: str) -> bool:
    return classtype in CLASSIFICATIONS


def load_classification_config(path: Path | str) -> dict[str, Classification]:
    """Read `config classification: name,description,priority` lines (other lines ignored)."""
    p = Path(path)
    try:
        text = p.read_text(encoding="utf-8", errors="replace")
    except OSError as exc:
        raise InputError(f"cannot read {p}: {exc.strerror or exc}") from None
    out: dict[str, Classification] = {}
    for line in text.splitlines():
        m = _LINE.match(line)
        if m:
            out[m.group(1).strip()] = Classification(m.group(2).strip(), int(m.group(3)))
    return out


__all__ = ["Classification", "CLASSIFICATIONS", "DEFAULT_PRIORITY", "lookup", "is_known",
           "load_classification_config"]
