"""Headers, address and port lists, variables (defaults, overrides, snort.conf)."""

from __future__ import annotations

from pathlib import Path

import pytest

from dpictl.errors import InputError, RuleSyntaxError, UsageError
from dpictl.rules import DEFAULT_VARS, Variables, load_conf_vars, parse_var_assignments
from dpictl.rules.addresses import parse_addresses
from dpictl.rules.ast import AddressSpec, PortSpec
from dpictl.rules.ports import parse_ports

from .helpers import rule


@pytest.mark.parametrize("text, expected", [
    ("any", AddressSpec()),
    ("$HOME_NET", AddressSpec()),
    ("$HTTP_SERVERS", AddressSpec()),
    ("10.0.0.1", AddressSpec(False, ("10.0.0.1/32",), ())),
    ("10.1.2.3/8", AddressSpec(False, ("10.0.0.0/8",), ())),
    # a pure negation starts from its own family only (Suricata: no IPv6 here)
    ("!10.0.0.0/8", AddressSpec(False, ("0.0.0.0/0",), ("10.0.0.0/8",))),
    ("[10.0.0.0/8,!10.1.0.0/16,192.168.1.0/24]",
     AddressSpec(False, ("10.0.0.0/8", "192.168.1.0/24"), ("10.1.0.0/16",))),
    ("[10.0.0.0/8,[172.16.0.0/12,!172.16.1.0/24]]",
     AddressSpec(False, ("10.0.0.0/8", "172.16.0.0/12"), ("172.16.1.0/24",))),
    # a negated block is evaluated first, then negated whole: nested negation flips
    ("![10.0.0.0/8,!10.1.0.0/16]",
     AddressSpec(False, ("0.0.0.0/0",), ("10.0.0.0/16", "10.2.0.0/15", "10.4.0.0/14",
                                        "10.8.0.0/13", "10.16.0.0/12", "10.32.0.0/11",
                                        "10.64.0.0/10", "10.128.0.0/9"))),
    ("[10.0.0.0/8,!10.1.0.0/16,![10.1.1.0/24]]",
     AddressSpec(False, ("10.0.0.0/8",), ("10.1.0.0/16",))),
    # positives are cut by every negation, wherever it stands in the list
    ("[10.0.0.0/8,!10.1.0.0/16,10.1.1.0/24]",
     AddressSpec(False, ("10.0.0.0/8",), ("10.1.0.0/16",))),
    # a negated IPv6 block with only IPv4 positives opens the whole IPv6 family
    ("[1.0.0.0/8,!2001:db8::/32]",
     AddressSpec(False, ("1.0.0.0/8", "::/0"), ("2001:db8::/32",))),
    ("[any,!10.0.0.1]", AddressSpec(True, (), ("10.0.0.1/32",))),
    ("!!10.0.0.1", AddressSpec(False, ("0.0.0.0/0",), ("10.0.0.1/32",))),
    ("2001:db8::/32", AddressSpec(False, ("2001:db8::/32",), ())),
    ("[10.0.0.1, 10.0.0.2]", AddressSpec(False, ("10.0.0.1/32", "10.0.0.2/32"), ())),
])
def test_addresses(text: str, expected: AddressSpec) -> None:
    assert parse_addresses(text, Variables()) == expected


@pytest.mark.parametrize("text, expected", [
    ("any", PortSpec()),
    ("80", PortSpec(False, ((80, 80),), ())),
    ("1024:", PortSpec(False, ((1024, 65535),), ())),
    (":1024", PortSpec(False, ((0, 1024),), ())),
    ("!80", PortSpec(True, (), ((80, 80),))),
    # Suricata pushes a block's negation down, except onto the block's last item
    ("![80,!81]", PortSpec(False, ((81, 81),), ())),
    ("![!81,80]", PortSpec(True, (), ((80, 81),))),
    ("[1024:,!8080]", PortSpec(False, ((1024, 65535),), ((8080, 8080),))),
    ("[80,8080:8090]", PortSpec(False, ((80, 80), (8080, 8090)), ())),
    ("[80,81,82,8000:8010,8005]", PortSpec(False, ((80, 82), (8000, 8010)), ())),
    ("$SHELLCODE_PORTS", PortSpec(True, (), ((80, 80),))),
    ("$ORACLE_PORTS", PortSpec(False, ((1024, 65535),), ())),
    ("[$FTP_PORTS,!2100]", PortSpec(False, ((21, 21), (2100, 2100), (3535, 3535)),
                                    ((2100, 2100),))),
    ("!$SSH_PORTS", PortSpec(True, (), ((22, 22),))),
])
def test_ports(text: str, expected: PortSpec) -> None:
    assert parse_ports(text, Variables()) == expected


def test_http_ports_default_is_the_community_snort_conf_list() -> None:
    spec = parse_ports("$HTTP_PORTS", Variables())
    ports = {p for lo, hi in spec.include for p in range(lo, hi + 1)}
    assert len(ports) == 209 and {80, 443, 8080, 56712} <= ports and 22 not in ports
    file_data = parse_ports("$FILE_DATA_PORTS", Variables())
    assert {p for lo, hi in file_data.include for p in range(lo, hi + 1)} == ports | {110, 143}


@pytest.mark.parametrize("text, message", [
    ("$NOPE", "undefined variable \\$NOPE"),
    ("[10.0.0.0/8", "closing"),
    ("300.1.1.1", "bad address"),
    ("!any", "matches no address"),
    ("[!any,10.0.0.1]", "matches no address"),
    ("[10.1.1.0/24,!10.0.0.0/8]", "nothing is left"),
    ("![10.0.0.1,!any]", "matches no address"),
])
def test_address_errors(text: str, message: str) -> None:
    with pytest.raises(RuleSyntaxError, match=message):
        parse_addresses(text, Variables())


@pytest.mark.parametrize("text, message", [
    ("70000", "bad port range"), ("90:80", "bad port range"), ("http", "bad port"),
    ("[80,,81]", "unexpected"),
    ("!any", "matches no port"), ("[80,!80]", "nothing is left"),
    ("[80,[80:90,!85]]", "follows a port range"),
])
def test_port_errors(text: str, message: str) -> None:
    with pytest.raises(RuleSyntaxError, match=message):
        parse_ports(text, Variables())


def test_overrides_flow_into_the_variables_that_refer_to_them() -> None:
    v = Variables({"HOME_NET": "[10.0.0.0/8,192.168.0.0/16]", "HTTP_PORTS": "[80,8080]"})
    assert parse_addresses("$HTTP_SERVERS", v).include == ("10.0.0.0/8", "192.168.0.0/16")
    assert parse_addresses("!$HOME_NET", v).exclude == ("10.0.0.0/8", "192.168.0.0/16")
    assert parse_addresses("!$HOME_NET", v).include == ("0.0.0.0/0",)
    assert parse_ports("$FILE_DATA_PORTS", v).include == ((80, 80), (110, 110), (143, 143),
                                                          (8080, 8080))


def test_self_reference_is_an_error_not_a_hang() -> None:
    v = Variables({"A": "$B", "B": "[$A,10.0.0.1]"})
    with pytest.raises(RuleSyntaxError, match="refers to itself"):
        parse_addresses("$A", v)


def test_parse_var_assignments() -> None:
    assert parse_var_assignments(["HOME_NET=10.0.0.0/8", "$X = 1 "]) == \
        {"HOME_NET": "10.0.0.0/8", "X": "1"}
    with pytest.raises(UsageError):
        parse_var_assignments(["HOME_NET"])
    with pytest.raises(InputError):
        Variables({"bad name": "1"})


def test_load_conf_vars_reads_the_community_snort_conf(shared_dir: Path) -> None:
    conf = load_conf_vars(shared_dir / "rules" / "snort2-community-snort.conf")
    assert conf["HOME_NET"] == "any" and conf["SSH_PORTS"] == "22"
    assert conf["FILE_DATA_PORTS"] == "[$HTTP_PORTS,110,143]"
    assert conf["RULE_PATH"] == "../rules"
    # our embedded defaults agree with it for every port group it defines
    for name, value in conf.items():
        if name.endswith("_PORTS"):
            assert DEFAULT_VARS[name].replace(" ", "") == value.replace(" ", ""), name


def test_load_conf_vars_missing_file(tmp_path: Path) -> None:
    with pytest.raises(InputError, match="not found"):
        load_conf_vars(tmp_path / "snort.conf")


def test_full_header() -> None:
    r = rule('content:"x";', "alert tcp $EXTERNAL_NET any <> [10.0.0.0/8,!10.0.0.1] !80")
    assert r.bidirectional and r.proto == "tcp" and r.action == "alert"
    assert r.dst == AddressSpec(False, ("10.0.0.0/8",), ("10.0.0.1/32",))
    assert r.dst_ports == PortSpec(True, (), ((80, 80),))


def test_negated_variables_are_negated_whole() -> None:
    v = Variables({"NETS": "[10.0.0.0/8,!10.1.0.0/16]", "WEB": "[80,443,!81]"})
    assert parse_addresses("!$NETS", v) == parse_addresses("![10.0.0.0/8,!10.1.0.0/16]", v)
    assert parse_addresses("[$NETS,10.1.1.1]", v).exclude == ("10.1.0.0/16",)
    assert parse_ports("!$WEB", v) == parse_ports("![80,443,!81]", v)


@pytest.mark.parametrize("header, message", [
    ("alert tcp any any any any", "7 fields"),
    ("alert tcp any any => any any", "direction"),
    ("yell tcp any any -> any any", "unknown rule action"),
])
def test_header_errors(header: str, message: str) -> None:
    with pytest.raises(RuleSyntaxError, match=message):
        rule('content:"x";', header)
