"""URI normalisation for `http_uri`, as Suricata 7 (libhtp 0.5, IDS personality) fills it.

Checked against Suricata 7.0.10 with probe rules (`http.uri; content:...; startswith; endswith;`):

* absolute-form targets (`http://host:80/p?q`) keep only path, query and fragment (`/p?q`);
* the path is percent-decoded, `%uHHHH` included (`%u0041` -> `A`, full-width `%uff41` -> `a`,
  other non-ASCII code points -> `?`); invalid escapes (`%zz`, `%4`) stay as written; `%00`
  becomes a NUL byte; `+` stays `+`;
* `\\` (also from `%5c`) becomes `/`, runs of `/` collapse to one;
* the decoded path is read as UTF-8 and brought to one byte per character ("best fit"):
  characters below U+0100 become that byte, others and invalid bytes become `?`;
* dot segments are removed as in RFC 3986 5.2.4, except that a trailing `/.` or `/..` leaves
  no slash behind (`/a/b/.` -> `/a/b`, `/a/b/..` -> `/a`);
* the query (and fragment) is only `%XX`-decoded: no `%u`, no dot or slash handling.
"""

from __future__ import annotations

_HEX = {c: i for i, c in enumerate(b"0123456789abcdef")}
_HEX.update({c: i for i, c in enumerate(b"0123456789ABCDEF")})


def normalize_uri(raw: bytes) -> bytes:
    """The `http_uri` buffer for a request target as it appeared on the request line."""
    uri = _strip_authority(raw)
    cut = len(uri)
    for sep in (b"?", b"#"):
        i = uri.find(sep)
        if 0 <= i < cut:
            cut = i
    path, rest = uri[:cut], uri[cut:]
    path = _normalize_path(path)
    if rest and b"%" in rest:
        rest = _percent_decode(rest, u_escapes=False)
    return path + rest


def _strip_authority(uri: bytes) -> bytes:
    i = uri.find(b"://")
    if i <= 0 or b"/" in uri[:i]:
        return uri
    slash = uri.find(b"/", i + 3)
    if slash < 0:
        cut = min((j for j in (uri.find(b"?", i + 3), uri.find(b"#", i + 3)) if j >= 0),
                  default=len(uri))
        return uri[cut:]
    return uri[slash:]


def _normalize_path(path: bytes) -> bytes:
    if b"%" in path:
        path = _percent_decode(path, u_escapes=True)
    if b"\\" in path:
        path = path.replace(b"\\", b"/")
    while b"//" in path:
        path = path.replace(b"//", b"/")
    if not path.isascii():
        path = _best_fit(path)
    if b"." in path:
        path = _remove_dot_segments(path)
    return path


def _percent_decode(data: bytes, u_escapes: bool) -> bytes:
    out = bytearray()
    i, n = 0, len(data)
    while i < n:
        c = data[i]
        if c != 0x25:                                            # '%'
            out.append(c)
            i += 1
            continue
        if u_escapes and i + 6 <= n and data[i + 1] in b"uU":
            h = data[i + 2:i + 6]
            if all(x in _HEX for x in h):
                hi = _HEX[h[0]] << 4 | _HEX[h[1]]
                lo = _HEX[h[2]] << 4 | _HEX[h[3]]
                if hi == 0:
                    out.append(lo)
                elif hi == 0xFF and lo <= 0x5E:                  # full-width ASCII forms
                    out.append(lo + 0x20)
                else:
                    out.append(0x3F)                             # '?'
                i += 6
                continue
        if i + 3 <= n and data[i + 1] in _HEX and data[i + 2] in _HEX:
            out.append(_HEX[data[i + 1]] << 4 | _HEX[data[i + 2]])
            i += 3
            continue
        out.append(c)
        i += 1
    return bytes(out)


def _best_fit(path: bytes) -> bytes:
    text = path.decode("utf-8", errors="replace")
    return bytes(ord(ch) if ord(ch) < 0x100 else 0x3F for ch in text)


def _remove_dot_segments(path: bytes) -> bytes:
    out: list[bytes] = []
    inp = path
    while inp:
        if inp.startswith(b"../"):
            inp = inp[3:]
        elif inp.startswith(b"./"):
            inp = inp[2:]
        elif inp.startswith(b"/./"):
            inp = inp[2:]
        elif inp == b"/.":
            inp = b""
        elif inp.startswith(b"/../"):
            inp = inp[3:]
            if out:
                out.pop()
        elif inp == b"/..":
            inp = b""
            if out:
                out.pop()
        elif inp == b"." or inp == b"..":
            inp = b""
        else:
            j = inp.find(b"/", 1)
            seg = inp if j < 0 else inp[:j]
            out.append(seg)
            inp = inp[len(seg):]
    return b"".join(out)


__all__ = ["normalize_uri"]
