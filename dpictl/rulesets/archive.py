"""The `.rules` files inside a download: a tar.gz, a zip, or the rules text itself.

The kind is told by the bytes (gzip or zip magic), not by the URL, since a URL need not end
in an extension. Each file keeps its name inside the archive: that is its `group:` for the
policy matchers. A download that claims to be an archive and is not one fails the update.
"""

from __future__ import annotations

import io
import tarfile
import zipfile
from pathlib import PurePosixPath

from dpictl.errors import RulesUpdateError

_GZIP = b"\x1f\x8b"
_ZIP = b"PK\x03\x04"
MAX_MEMBER = 256 * 1024 * 1024      # a rules file larger than this is not a rules file


def rule_files(data: bytes, name: str, source: str) -> dict[str, str]:
    """{group: text} of every `*.rules` file in `data` (`name`: the file name for a bare file)."""
    try:
        if data.startswith(_GZIP):
            return _from_tar(data)
        if data.startswith(_ZIP):
            return _from_zip(data)
    except (tarfile.TarError, zipfile.BadZipFile, EOFError, OSError) as exc:
        raise RulesUpdateError(f"source {source}: corrupt archive: {exc}") from None
    if b"\x00" in data[:4096]:
        raise RulesUpdateError(f"source {source}: neither rules text nor a .tar.gz or .zip")
    group = name if name.endswith(".rules") else f"{name}.rules"
    return {group: data.decode("utf-8", "surrogateescape")}


def _from_tar(data: bytes) -> dict[str, str]:
    out: dict[str, str] = {}
    with tarfile.open(fileobj=io.BytesIO(data), mode="r:gz") as tar:
        for member in tar:
            if member.isfile() and member.name.endswith(".rules") and \
                    member.size <= MAX_MEMBER:
                fh = tar.extractfile(member)
                if fh is not None:
                    out[PurePosixPath(member.name).name] = fh.read().decode(
                        "utf-8", "surrogateescape")
    return out


def _from_zip(data: bytes) -> dict[str, str]:
    out: dict[str, str] = {}
    with zipfile.ZipFile(io.BytesIO(data)) as archive:
        for info in archive.infolist():
            if not info.is_dir() and info.filename.endswith(".rules") and \
                    info.file_size <= MAX_MEMBER:
                out[PurePosixPath(info.filename).name] = archive.read(info).decode(
                    "utf-8", "surrogateescape")
    return out


__all__ = ["rule_files"]
