"""HTTP header block -> fields and the normalised header buffers, as Suricata 7 builds them.

Checked against Suricata 7.0.10 with probe rules:

* `http_header` is `Name: value\\r\\n` per header in arrival order, names as sent, values trimmed
  of surrounding blanks, with no extra CRLF at the end; `Cookie` (requests) and `Set-Cookie`
  (responses) are left out - they live in `http_cookie`;
* a repeated header is merged into its first occurrence, values joined with `", "`;
* a folded line (starting with SP/HTAB) is appended to the previous value as it is, leading
  blanks included (`v1\\r\\n  v2` -> `v1  v2`);
* `http_raw_header` is the header block as received, up to and including the empty line.
"""

from __future__ import annotations

_BLANKS = b" \t"


def parse_header_block(block: bytes) -> list[tuple[bytes, bytes]]:
    """Header fields in order, repeated names merged into the first; `block` has no empty line."""
    fields: list[list[bytes]] = []
    where: dict[bytes, int] = {}
    last: list[bytes] | None = None
    for line in block.split(b"\n"):
        if line.endswith(b"\r"):
            line = line[:-1]
        if not line:
            continue
        if line[0] in _BLANKS and last is not None:
            last[1] = (last[1] + line).rstrip(_BLANKS)
            continue
        colon = line.find(b":")
        if colon <= 0:
            last = None                       # not a header; kept only in the raw buffer
            continue
        name = line[:colon].rstrip(_BLANKS)
        value = line[colon + 1:].strip(_BLANKS)
        lower = name.lower()
        idx = where.get(lower)
        if idx is None:
            where[lower] = len(fields)
            last = [name, value]
            fields.append(last)
        else:
            last = fields[idx]
            last[1] = last[1] + b", " + value if last[1] else value
    return [(n, v) for n, v in fields]


def field_map(fields: list[tuple[bytes, bytes]]) -> dict[str, bytes]:
    """Lower-case header name -> value (repeated headers already joined with ", ")."""
    return {name.decode("latin-1").lower(): value for name, value in fields}


def header_buffer(fields: list[tuple[bytes, bytes]], cookie_name: bytes) -> bytes:
    """The normalised `http_header` buffer, without the cookie header of this direction."""
    return b"".join(name + b": " + value + b"\r\n" for name, value in fields
                    if name.lower() != cookie_name)


__all__ = ["parse_header_block", "field_map", "header_buffer"]
