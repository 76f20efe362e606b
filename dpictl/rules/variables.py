"""Rule variables (`$HOME_NET`, `$HTTP_PORTS`, ...): defaults, overrides, snort.conf reading.

Community rules name their networks and ports through variables that a deployment sets in
snort.conf. dpictl has no snort.conf of its own, so it ships Snort's standard defaults as
data: every address variable is `any` (the server groups follow `$HOME_NET`, so setting
`HOME_NET` narrows them too), and the port groups carry the values of the snort.conf in the
community tarball. `--var NAME=VALUE` or a snort.conf (`load_conf_vars`) override them.

Address and port variables share one name space here: Snort keeps two tables, but no
standard name is used for both, and one table keeps `--var` simple.
"""

from __future__ import annotations

import re
from collections.abc import Mapping
from pathlib import Path

from dpictl.errors import InputError, RuleSyntaxError, UsageError

# The port list of `portvar HTTP_PORTS` in the community snort.conf (Snort's default).
_HTTP_PORTS = (
    "36,80,81,82,83,84,85,86,87,88,89,90,311,323,383,443,444,555,591,593,623,631,664,801,808,"
    "818,901,972,1158,1220,1270,1414,1533,1581,1719,1720,1741,1801,1812,1830,1942,2231,2301,"
    "2375,2381,2578,2809,2869,2980,3000,3029,3037,3057,3128,3323,3443,3702,4000,4343,4444,"
    "4592,4848,5000,5054,5060,5061,5117,5222,5250,5416,5443,5450,5480,5555,5600,5814,5894,"
    "5984,5985,5986,6060,6080,6173,6988,7000,7001,7005,7070,7071,7080,7144,7145,7180,7181,"
    "7510,7770,7777,7778,7779,8000,8001,8008,8014,8015,8020,8028,8040,8080,8081,8082,8085,"
    "8088,8090,8095,8118,8123,8161,8180,8181,8182,8222,8243,8280,8300,8333,8344,8393,8400,"
    "8443,8484,8500,8509,8511,8694,8787,8800,8848,8852,8880,8888,8899,8983,9000,9001,9002,"
    "9050,9060,9080,9090,9091,9111,9200,9201,9290,9443,9447,9502,9700,9710,9788,9830,9850,"
    "9990,9999,10000,10080,10100,10250,10255,10297,10443,11371,12601,13014,14592,15489,16000,"
    "16992,16993,16994,16995,17000,18081,19980,20000,29991,30007,30018,30888,33300,34412,"
    "34443,34444,36099,37215,40007,41080,44449,49152,49153,50000,50002,50452,51423,53331,"
    "54444,55252,55555,56712"
)

DEFAULT_VARS: Mapping[str, str] = {
    # address groups: unrestricted, as in the community snort.conf and the Suricata oracle
    "HOME_NET": "any",
    "EXTERNAL_NET": "any",
    "DNS_SERVERS": "$HOME_NET",
    "SMTP_SERVERS": "$HOME_NET",
    "HTTP_SERVERS": "$HOME_NET",
    "SQL_SERVERS": "$HOME_NET",
    "TELNET_SERVERS": "$HOME_NET",
    "SSH_SERVERS": "$HOME_NET",
    "FTP_SERVERS": "$HOME_NET",
    "SIP_SERVERS": "$HOME_NET",
    "AIM_SERVERS": "any",
    "DC_SERVERS": "$HOME_NET",
    "DNP3_SERVER": "$HOME_NET",
    "DNP3_CLIENT": "$HOME_NET",
    "MODBUS_CLIENT": "$HOME_NET",
    "MODBUS_SERVER": "$HOME_NET",
    "ENIP_CLIENT": "$HOME_NET",
    "ENIP_SERVER": "$HOME_NET",
    # port groups: the community snort.conf values
    "HTTP_PORTS": f"[{_HTTP_PORTS}]",
    "SHELLCODE_PORTS": "!80",
    "ORACLE_PORTS": "1024:",
    "SSH_PORTS": "22",
    "FTP_PORTS": "[21,2100,3535]",
    "SIP_PORTS": "[5060,5061,5600]",
    "FILE_DATA_PORTS": "[$HTTP_PORTS,110,143]",
    "GTP_PORTS": "[2123,2152,3386]",
    "DNP3_PORTS": "20000",
    "MODBUS_PORTS": "502",
}

_NAME = re.compile(r"[A-Za-z_][A-Za-z0-9_]*\Z")
_CONF_LINE = re.compile(r"\s*(ipvar|portvar|var)\s+(\S+)\s+(.+?)\s*\Z")


class Variables:
    """Name -> value text, with `$NAME` references expanded on demand (cycles are errors)."""

    def __init__(self, overrides: Mapping[str, str] | None = None) -> None:
        self._values: dict[str, str] = dict(DEFAULT_VARS)
        # parsed specs by (kind, text): the same few header fields repeat thousands of times
        self.cache: dict[tuple[str, str], object] = {}
        for name, value in (overrides or {}).items():
            self.set(name, value)

    def set(self, name: str, value: str) -> None:
        name = name.lstrip("$")
        if not _NAME.match(name):
            raise InputError(f"bad variable name {name!r}",
                             hint="names are letters, digits and _, e.g. HOME_NET")
        if not value.strip():
            raise InputError(f"variable {name} has an empty value")
        self._values[name] = value.strip()
        self.cache.clear()

    def get(self, name: str) -> str:
        """The value as written; raises RuleSyntaxError for an undefined name."""
        try:
            return self._values[name]
        except KeyError:
            raise RuleSyntaxError(
                f"undefined variable ${name} (set it with --var {name}=VALUE)") from None

    def names(self) -> list[str]:
        return sorted(self._values)

    def as_dict(self) -> dict[str, str]:
        return dict(self._values)


def parse_var_assignments(items: list[str]) -> dict[str, str]:
    """`["HOME_NET=10.0.0.0/8", ...]` (the CLI's --var values) -> dict; bad items raise
    UsageError (they come from the command line)."""
    out: dict[str, str] = {}
    for item in items:
        name, sep, value = item.partition("=")
        if not sep or not name.strip() or not value.strip():
            raise UsageError(f"bad --var {item!r}", hint="write it as NAME=VALUE")
        out[name.strip().lstrip("$")] = value.strip()
    return out


def load_conf_vars(path: Path | str) -> dict[str, str]:
    """The `ipvar`/`portvar`/`var` definitions of a snort.conf, in file order.

    Everything else in the file (preprocessors, includes, config lines) is ignored: dpictl
    only needs the variables the rules refer to.
    """
    p = Path(path)
    try:
        text = p.read_text(encoding="utf-8", errors="surrogateescape")
    except FileNotFoundError:
        raise InputError(f"snort.conf not found: {p}") from None
    except OSError as exc:
        raise InputError(f"cannot read {p}: {exc.strerror or exc}") from None
    out: dict[str, str] = {}
    for line in text.splitlines():
        if line.lstrip().startswith("#"):
            continue
        m = _CONF_LINE.match(line)
        if m:
            out[m.group(2).lstrip("$")] = m.group(3)
    return out


__all__ = ["DEFAULT_VARS", "Variables", "load_conf_vars", "parse_var_assignments"]
