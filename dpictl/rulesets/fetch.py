"""Fetching one source into the cache, with conditional requests and a published checksum.

HTTP sources send If-None-Match / If-Modified-Since from the last download, so an unchanged
source costs one 304. Where the source publishes `URL.md5` (as suricata-update looks for),
the download must match it. The cache is replaced only after the whole download arrived and
checked: a failed fetch leaves the previous one. Written on urllib because idstools' `net.get`
sends no conditional headers and tells a 304 from an error only by an exception.
"""

from __future__ import annotations

import hashlib
import json
import shutil
import urllib.error
import urllib.request
from dataclasses import dataclass
from pathlib import Path
from typing import Callable

from dpictl import __version__
from dpictl.errors import RulesUpdateError
from dpictl.rulesets.layout import write_atomically
from dpictl.rulesets.sources import Source

# (bytes so far, total bytes or None when the server does not say)
Progress = Callable[[int, int | None], None]

TIMEOUT = 30.0
_CHUNK = 64 * 1024


@dataclass(frozen=True, slots=True)
class Fetched:
    source: Source
    path: Path              # the cached download
    not_modified: bool      # the server (or the file) says nothing changed
    size: int


def cache_paths(cache: Path, source: Source) -> tuple[Path, Path]:
    return cache / f"{source.name}.data", cache / f"{source.name}.json"


def fetch(source: Source, cache: Path, progress: Progress | None = None,
          timeout: float = TIMEOUT) -> Fetched:
    """Bring `source` into `cache`; raises RulesUpdateError (one line) when it cannot."""
    data_path, meta_path = cache_paths(cache, source)
    meta = _read_meta(meta_path) if data_path.exists() else {}
    if source.is_remote:
        return _fetch_http(source, data_path, meta_path, meta, progress, timeout)
    return _fetch_local(source, data_path, meta_path, meta)


def _fetch_local(source: Source, data_path: Path, meta_path: Path, meta: dict) -> Fetched:
    path = source.local_path()
    try:
        data = path.read_bytes()
    except OSError as exc:
        raise RulesUpdateError(f"source {source.name}: cannot read {path}: "
                               f"{exc.strerror or exc}") from None
    digest = hashlib.sha256(data).hexdigest()
    if meta.get("sha256") == digest:
        return Fetched(source, data_path, True, len(data))
    write_atomically(data_path, data)
    _write_meta(meta_path, {"url": source.url, "sha256": digest})
    return Fetched(source, data_path, False, len(data))


def _fetch_http(source: Source, data_path: Path, meta_path: Path, meta: dict,
                progress: Progress | None, timeout: float) -> Fetched:
    headers = {"User-Agent": f"dpictl/{__version__}"}
    if meta.get("url") == source.url:
        if meta.get("etag"):
            headers["If-None-Match"] = meta["etag"]
        if meta.get("last_modified"):
            headers["If-Modified-Since"] = meta["last_modified"]
    request = urllib.request.Request(source.url, headers=headers)
    part = data_path.with_name(data_path.name + ".part")
    try:
        with urllib.request.urlopen(request, timeout=timeout) as resp:
            total = resp.headers.get("Content-Length")
            size = _download(resp, part, int(total) if total else None, progress)
            etag, modified = resp.headers.get("ETag"), resp.headers.get("Last-Modified")
    except urllib.error.HTTPError as exc:
        part.unlink(missing_ok=True)
        if exc.code == 304 and data_path.exists():
            return Fetched(source, data_path, True, data_path.stat().st_size)
        raise RulesUpdateError(f"source {source.name}: {source.url}: HTTP {exc.code} "
                               f"{exc.reason}") from None
    except (urllib.error.URLError, OSError, ValueError) as exc:
        part.unlink(missing_ok=True)
        reason = getattr(exc, "reason", None) or exc
        raise RulesUpdateError(f"source {source.name}: cannot fetch {source.url}: "
                               f"{reason}") from None
    try:
        _check_md5(source, part, timeout)
    except RulesUpdateError:
        part.unlink(missing_ok=True)
        raise
    part.replace(data_path)
    _write_meta(meta_path, {"url": source.url, "etag": etag, "last_modified": modified})
    return Fetched(source, data_path, False, size)


def _download(resp, part: Path, total: int | None, progress: Progress | None) -> int:
    part.parent.mkdir(parents=True, exist_ok=True)
    done = 0
    with part.open("wb") as out:
        while chunk := resp.read(_CHUNK):
            out.write(chunk)
            done += len(chunk)
            if progress is not None:
                progress(done, total)
    if total is not None and done != total:
        raise OSError(f"short read: {done} of {total} bytes")
    return done


def _check_md5(source: Source, part: Path, timeout: float) -> None:
    """Compare with `URL.md5` when the source publishes one; no checksum file is not an error."""
    try:
        with urllib.request.urlopen(source.url + ".md5", timeout=timeout) as resp:
            published = resp.read(4096).decode("ascii", "replace").split()
    except (urllib.error.URLError, OSError, ValueError):
        return
    if not published:
        return
    md5 = hashlib.md5()
    with part.open("rb") as fh:
        shutil.copyfileobj(fh, _Feed(md5))
    if published[0].lower() != md5.hexdigest():
        raise RulesUpdateError(f"source {source.name}: checksum mismatch: {source.url} has md5 "
                               f"{md5.hexdigest()}, {source.url}.md5 says {published[0]}")


class _Feed:
    """A file-like sink that hashes what is written to it."""

    def __init__(self, digest) -> None:
        self._digest = digest

    def write(self, data: bytes) -> int:
        self._digest.update(data)
        return len(data)


def _read_meta(path: Path) -> dict:
    try:
        return json.loads(path.read_text())
    except (OSError, ValueError):
        return {}


def _write_meta(path: Path, meta: dict) -> None:
    write_atomically(path, json.dumps(meta, indent=1).encode())


__all__ = ["Fetched", "Progress", "fetch", "cache_paths"]
