"""Rule sources: a name and where to fetch it from, kept in `sources.yaml`.

A source is an http(s):// URL, a file:// URL or a local path, holding one `.rules` file, a
`.tar.gz` or a `.zip` of them (suricata-update's `add-source`, `enable-source`...).
"""

from __future__ import annotations

import re
from dataclasses import dataclass, replace
from pathlib import Path
from urllib.parse import urlparse

from dpictl.errors import InputError, NotFound, UsageError
from dpictl.rulesets.layout import RulesDir, write_atomically

_NAME = re.compile(r"[A-Za-z0-9][A-Za-z0-9._-]{0,62}\Z")


@dataclass(frozen=True, slots=True)
class Source:
    name: str
    url: str            # http(s):// or file:// URL, or an absolute path
    enabled: bool = True

    @property
    def is_remote(self) -> bool:
        return urlparse(self.url).scheme in ("http", "https")

    def local_path(self) -> Path:
        """The file a file:// URL or a path names."""
        parsed = urlparse(self.url)
        return Path(parsed.path) if parsed.scheme == "file" else Path(self.url)

    def to_dict(self) -> dict:
        return {"name": self.name, "url": self.url, "enabled": self.enabled}

    @classmethod
    def from_dict(cls, data: dict) -> Source:
        return cls(name=str(data["name"]), url=str(data["url"]),
                   enabled=bool(data.get("enabled", True)))


def load_sources(rules: RulesDir) -> list[Source]:
    import yaml

    if not rules.sources.exists():
        return []
    try:
        data = yaml.safe_load(rules.sources.read_text()) or {}
        return [Source.from_dict(d) for d in data.get("sources") or []]
    except (yaml.YAMLError, KeyError, TypeError, AttributeError) as exc:
        raise InputError(f"{rules.sources}: not a sources file ({exc})",
                         hint="fix or delete it, then add the sources again") from None


def save_sources(rules: RulesDir, sources: list[Source]) -> None:
    import yaml

    text = yaml.safe_dump({"sources": [s.to_dict() for s in sources]}, sort_keys=False)
    write_atomically(rules.sources, text.encode())


def normalise_location(location: str) -> str:
    """A URL as given; a path made absolute (and checked), so the source works from any cwd."""
    scheme = urlparse(location).scheme
    if scheme in ("http", "https"):
        return location
    if scheme == "file":
        path = Path(urlparse(location).path)
    elif scheme and len(scheme) > 1:
        raise UsageError(f"unsupported source scheme {scheme!r}",
                         hint="use http://, https://, file:// or a path")
    else:
        path = Path(location).expanduser().resolve()
    if not path.is_file():
        raise InputError(f"{path}: no such file", hint="a source is a .rules, .tar.gz or .zip")
    return str(path) if scheme != "file" else location


def add_source(rules: RulesDir, name: str, location: str) -> Source:
    if not _NAME.match(name):
        raise UsageError(f"bad source name {name!r}",
                         hint="letters, digits, '.', '_' and '-', up to 63 characters")
    sources = load_sources(rules)
    if any(s.name == name for s in sources):
        raise UsageError(f"source {name!r} already exists",
                         hint=f"remove it first: dpictl rules source remove {name}")
    source = Source(name, normalise_location(location))
    save_sources(rules, [*sources, source])
    return source


def remove_source(rules: RulesDir, name: str) -> Source:
    sources = load_sources(rules)
    found = _find(sources, name)
    save_sources(rules, [s for s in sources if s.name != name])
    for suffix in (".data", ".json", ".data.part"):   # the fetch cache's files, exactly
        (rules.cache / f"{name}{suffix}").unlink(missing_ok=True)
    return found


def set_enabled(rules: RulesDir, name: str, enabled: bool) -> Source:
    sources = load_sources(rules)
    found = _find(sources, name)
    changed = replace(found, enabled=enabled)
    save_sources(rules, [changed if s.name == name else s for s in sources])
    return changed


def _find(sources: list[Source], name: str) -> Source:
    for source in sources:
        if source.name == name:
            return source
    raise NotFound(f"no rule source {name!r}", hint="see dpictl rules source list")


__all__ = ["Source", "load_sources", "save_sources", "add_source", "remove_source",
           "set_enabled", "normalise_location"]
