"""Why a frame could not be decoded: cut short (`Truncated`) or self-contradictory (`Malformed`).

These never leave `Decoder.decode()`: it counts them in `Decoder.stats` and drops the frame.
They are exceptions rather than return codes because a short header can be found four calls
deep (VXLAN inside UDP inside IPv4), and unwinding is the cheapest way back out. They are not
`DpictlError`s: a bad packet on the wire is not a user error.
"""

from __future__ import annotations


class DecodeError(Exception):
    """A frame could not be decoded; the message names the layer."""


class Truncated(DecodeError):
    """The frame ends before a header or the length a header announces."""


class Malformed(DecodeError):
    """A header contradicts itself (bad version, a length shorter than the header...)."""


__all__ = ["DecodeError", "Truncated", "Malformed"]
