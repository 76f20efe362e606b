"""Compiled rule sets cached on disk, so that a start-up with unchanged rules is cheap.

Parsing the ~4,000 community rules and compiling their hyperscan databases costs about a
second of CPU; reading back the pickled result costs a fraction of that (hyperscan
databases travel in their own serialized form, see `Prefilter`).

An entry is keyed by everything that shapes the result: the rule files' names and bytes,
the variables, `include_disabled`, dpictl's version and the files of its rules and engine
packages (size and mtime, so that an edited or rebuilt module invalidates), the Python,
hyperscan and pcre2 versions and the machine. The entry carries the key and a SHA-256 of
its payload: a truncated, corrupt or foreign file is detected, rebuilt and replaced, never
trusted. Entries are written atomically (temporary file + rename) and only the few most
recently written are kept.

A pickle runs code when loaded, so the cache is only used in a directory owned by the
current user and writable by no one else. `DPICTL_NO_RULE_CACHE=1` turns it off.
"""

from __future__ import annotations

import gc
import hashlib
import os
import pickle
import sys
import time
from dataclasses import dataclass
from pathlib import Path

import dpictl
from dpictl.engine.detect.ruleset import CompiledRules, compile_rules
from dpictl.paths import cache_dir
from dpictl.rules.ruleset import (RuleSet, RuleSource, builtin_rule_sources,
                                  parse_rule_sources, read_rule_sources)

DISABLE_ENV = "DPICTL_NO_RULE_CACHE"
# Bump when the entry layout or anything pickled changes shape without a version bump.
_FORMAT = b"dpictl-rules-1\n"
_KEEP = 4                      # entries kept (~9 MB each for 4,000 rules); oldest go first
_PACKAGE = Path(dpictl.__file__).resolve().parent
_CODE_DIRS = ("rules", "engine")
_CODE_SUFFIXES = (".py", ".so", ".pyd")


@dataclass(frozen=True, slots=True)
class CompiledRuleSet:
    """Rules as loaded (counts, errors) and as compiled, ready for `Engine(...)`."""

    ruleset: RuleSet
    compiled: CompiledRules
    from_cache: bool


def load_compiled(paths: list[Path | str] | tuple[Path | str, ...],
                  vars: dict[str, str] | None = None, *, include_disabled: bool = False,
                  cache: Path | None = None) -> CompiledRuleSet:
    """`load_rules` + `compile_rules`, through the cache. An empty `paths`: the built-in
    rules. InputError when a file cannot be read (nothing is cached then)."""
    sources = read_rule_sources(paths) if paths else builtin_rule_sources()
    return compile_sources(sources, vars, include_disabled=include_disabled, cache=cache)


def compile_sources(sources: list[RuleSource], vars: dict[str, str] | None = None, *,
                    include_disabled: bool = False,
                    cache: Path | None = None) -> CompiledRuleSet:
    """The rule files already read: from the cache when an entry has exactly this key,
    else parsed, compiled and stored. `cache`: the directory (default: `default_cache_dir`)."""
    directory = cache if cache is not None else default_cache_dir()
    key = cache_key(sources, vars, include_disabled)
    entry = directory / f"rules-{key.hex()[:32]}.pickle" if directory is not None else None
    loaded = _read(entry, key) if entry is not None else None
    if loaded is not None and not _includes_unchanged(loaded[0]):
        loaded = None          # a file an include line read has changed since: rebuild
    if loaded is not None:
        ruleset, compiled = loaded
        result = CompiledRuleSet(ruleset, compiled, from_cache=True)
    else:
        ruleset = parse_rule_sources(sources, vars, include_disabled=include_disabled)
        compiled = compile_rules(ruleset.rules)
        if entry is not None:
            _write(entry, key, (ruleset, compiled))
        result = CompiledRuleSet(ruleset, compiled, from_cache=False)
    # The compiled rules live as long as the process: out of the cyclic collector's sight,
    # its full collections no longer walk their ~75,000 objects (measured: a 47 ms pause
    # on whichever packet triggered one, 0 ms once frozen).
    gc.freeze()
    return result


def _includes_unchanged(ruleset: RuleSet) -> bool:
    """The key covers the named files only; the files their `include` lines read are
    checked here, against the digests the parse recorded."""
    for path, digest in ruleset.included:
        try:
            if hashlib.sha256(Path(path).read_bytes()).hexdigest() != digest:
                return False
        except OSError:
            return False
    return True


def default_cache_dir() -> Path | None:
    """`$XDG_CACHE_HOME/dpictl`, or None when `DPICTL_NO_RULE_CACHE` is set."""
    if os.environ.get(DISABLE_ENV, "").strip() not in ("", "0"):
        return None
    return cache_dir()


def cache_key(sources: list[RuleSource], vars: dict[str, str] | None,
              include_disabled: bool) -> bytes:
    h = hashlib.sha256(_FORMAT)
    for part in (dpictl.__version__, sys.version, os.uname().machine, _library_versions(),
                 _code_fingerprint(), repr(sorted((vars or {}).items())),
                 repr(include_disabled)):
        _feed(h, part.encode("utf-8", "surrogateescape"))
    for source in sources:
        _feed(h, source.name.encode("utf-8", "surrogateescape"))
        _feed(h, hashlib.sha256(source.data).digest())
    return h.digest()


def _feed(h, data: bytes) -> None:
    """Length-prefixed, so that no two different key parts hash alike."""
    h.update(len(data).to_bytes(8, "little"))
    h.update(data)


def _library_versions() -> str:
    from dpictl.engine.detect import prefilter, regex

    hs = prefilter.hyperscan
    return repr((getattr(hs, "__version__", None) if hs is not None else "no-hyperscan",
                 getattr(regex.pcre2, "__version__", None)))


def _code_fingerprint() -> str:
    """Size and mtime of every module that parses or compiles rules."""
    stats = []
    for name in _CODE_DIRS:
        for root, dirs, files in os.walk(_PACKAGE / name):
            dirs[:] = sorted(d for d in dirs if d != "__pycache__")
            for file in sorted(files):
                if file.endswith(_CODE_SUFFIXES):
                    st = os.stat(os.path.join(root, file))
                    stats.append((os.path.relpath(os.path.join(root, file), _PACKAGE),
                                  st.st_size, st.st_mtime_ns))
    return repr(stats)


# -- the entry file: _FORMAT, key (32 bytes), SHA-256 of the payload (32 bytes), payload ---
def _read(entry: Path, key: bytes) -> tuple[RuleSet, CompiledRules] | None:
    """The cached (RuleSet, CompiledRules), or None (missing, unsafe, stale or corrupt)."""
    if not _private_dir(entry.parent):
        return None
    try:
        blob = entry.read_bytes()
    except OSError:
        return None
    head = len(_FORMAT)
    payload = memoryview(blob)[head + 64:]
    if (blob[:head] != _FORMAT or blob[head:head + 32] != key
            or blob[head + 32:head + 64] != hashlib.sha256(payload).digest()):
        return None
    enabled = gc.isenabled()
    gc.disable()   # unpickling creates ~10^5 objects: collections in between are wasted work
    try:
        value = pickle.loads(payload)
    except Exception:  # noqa: BLE001 - an entry we cannot read is rebuilt, whatever the cause
        return None
    finally:
        if enabled:
            gc.enable()
    if (not isinstance(value, tuple) or len(value) != 2 or not isinstance(value[0], RuleSet)
            or not isinstance(value[1], CompiledRules)):
        return None
    return value


def _write(entry: Path, key: bytes, value: tuple[RuleSet, CompiledRules]) -> None:
    """Best effort: a cache that cannot be written (read-only home, full disk) is skipped."""
    try:
        payload = pickle.dumps(value, protocol=pickle.HIGHEST_PROTOCOL)
    except Exception:  # noqa: BLE001 - something unpicklable: run uncached, do not fail
        return
    import tempfile   # only on a miss: not worth its import time on every start

    directory = entry.parent
    try:
        directory.mkdir(parents=True, exist_ok=True, mode=0o700)
        if not _private_dir(directory):
            return
        fd, tmp = tempfile.mkstemp(dir=directory, prefix=".rules-", suffix=".tmp")
    except OSError:
        return
    try:
        with os.fdopen(fd, "wb") as fh:
            fh.write(_FORMAT)
            fh.write(key)
            fh.write(hashlib.sha256(payload).digest())
            fh.write(payload)
        os.replace(tmp, entry)
    except OSError:
        try:
            os.unlink(tmp)
        except OSError:
            pass
        return
    _prune(directory)


def _private_dir(directory: Path) -> bool:
    """Owned by us and writable by no one else: nobody else can plant a pickle there."""
    try:
        st = directory.stat()
    except OSError:
        return False
    return st.st_uid == os.geteuid() and not st.st_mode & 0o022


def _prune(directory: Path) -> None:
    """Keep the newest entries; drop temporary files a killed writer left (an hour old)."""
    try:
        entries = sorted(directory.glob("rules-*.pickle"), key=lambda p: p.stat().st_mtime,
                         reverse=True)
        stale = [tmp for tmp in directory.glob(".rules-*.tmp")
                 if time.time() - tmp.stat().st_mtime > 3600]
        for old in entries[_KEEP:] + stale:
            old.unlink()
    except OSError:
        pass


__all__ = ["CompiledRuleSet", "load_compiled", "compile_sources", "default_cache_dir",
           "cache_key", "DISABLE_ENV"]
