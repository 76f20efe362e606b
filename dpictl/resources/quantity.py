"""Kubernetes resource quantities ("500m", "1", "1Gi", "100Mi"); durations are in
`dpictl.duration`.

A small parser written here because the kubernetes client's `parse_quantity` pulls in the
whole client package for two regular expressions.
"""

from __future__ import annotations

import re
from decimal import Decimal, InvalidOperation

from dpictl.errors import ManifestError

_BINARY = {"Ki": 2**10, "Mi": 2**20, "Gi": 2**30, "Ti": 2**40, "Pi": 2**50, "Ei": 2**60}
_DECIMAL = {"n": Decimal("1e-9"), "u": Decimal("1e-6"), "m": Decimal("1e-3"), "": Decimal(1),
            "k": Decimal(10**3), "M": Decimal(10**6), "G": Decimal(10**9),
            "T": Decimal(10**12), "P": Decimal(10**15), "E": Decimal(10**18)}
_QUANTITY = re.compile(
    r"^([+]?[0-9]*\.?[0-9]+(?:[eE][-+]?[0-9]+)?)(Ki|Mi|Gi|Ti|Pi|Ei|[numkMGTPE]?)$")


def parse_quantity(text: str | int | float) -> Decimal:
    """A quantity as a Decimal in base units (cores, bytes)."""
    if isinstance(text, bool):
        raise ManifestError(f"invalid quantity {text!r}")
    if isinstance(text, (int, float)):
        return Decimal(str(text))
    m = _QUANTITY.match(str(text).strip())
    if not m:
        raise ManifestError(f"invalid quantity {text!r}",
                            hint="use e.g. cpu '1' or '500m', memory '1Gi' or '100Mi'")
    try:
        number = Decimal(m.group(1))
    except InvalidOperation as exc:  # pragma: no cover - regex already checked
        raise ManifestError(f"invalid quantity {text!r}") from exc
    suffix = m.group(2)
    return number * (_BINARY[suffix] if suffix in _BINARY else _DECIMAL[suffix])


def parse_cpu_millicores(text: str | int | float) -> int:
    """CPU quantity in millicores: "1" -> 1000, "500m" -> 500."""
    return int((parse_quantity(text) * 1000).to_integral_value(rounding="ROUND_CEILING"))


def parse_memory_bytes(text: str | int | float) -> int:
    """Memory quantity in bytes: "1Gi" -> 1073741824, "100Mi" -> 104857600."""
    return int(parse_quantity(text).to_integral_value(rounding="ROUND_CEILING"))


__all__ = ["parse_quantity", "parse_cpu_millicores", "parse_memory_bytes"]
