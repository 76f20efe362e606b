"""The on-disk cache of compiled rule sets: a hit behaves like a fresh compile, any change
to what shaped the result misses, a bad entry is rebuilt quietly, and it can be turned off.

Every test here points $XDG_CACHE_HOME (or `cache=`) at its own temporary directory.
"""

from __future__ import annotations

import hashlib
import os
import pickle
import subprocess
import sys
from pathlib import Path

import pytest

from dpictl.capture import open_pcap
from dpictl.engine import Engine, load_compiled
from dpictl.engine import rule_cache
from dpictl.rules import load_rules

ALL_ENABLED = "rules/snort2-community-all-enabled.rules"
# header checks (itype, flags), packet and stream contents, HTTP buffers, the lab rule
PCAPS = ("cs-icmp_traceroute.pcapng", "cs-synscan.pcapng", "cs-aurora.pcapng",
         "cs-http_espn.pcapng", "lab-smk.pcap", "ec-impacket_psexec.pcap")

RULES = """\
alert tcp $EXTERNAL_NET any -> $HOME_NET 80 (msg:"one"; content:"smk="; sid:1000001;)
alert udp any any -> any 53 (msg:"two"; content:"|00 01|"; depth:4; pcre:"/ab+c/i"; sid:1000002;)
"""


@pytest.fixture
def cache_home(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> Path:
    monkeypatch.setenv("XDG_CACHE_HOME", str(tmp_path / "xdg"))
    monkeypatch.delenv(rule_cache.DISABLE_ENV, raising=False)
    return tmp_path / "xdg" / "dpictl"


@pytest.fixture
def rules_file(tmp_path: Path) -> Path:
    path = tmp_path / "local.rules"
    path.write_text(RULES)
    return path


def entries(directory: Path) -> list[Path]:
    return sorted(directory.glob("rules-*.pickle")) if directory.is_dir() else []


def alerts(engine: Engine, pcap: Path) -> list[tuple]:
    dets = []
    with open_pcap(pcap) as frames:
        for ts, frame, linktype, iface in frames:
            dets += engine.feed(ts, frame, linktype, iface)
    dets += engine.flush()
    return sorted((d.rule.sid, d.pkt_num, d.src_ip, d.src_port, d.dst_ip, d.dst_port)
                  for d in dets)


# -- a hit is the same engine -------------------------------------------------------------
@pytest.fixture(scope="module")
def community(shared_dir: Path, tmp_path_factory: pytest.TempPathFactory):
    """The all-enabled community rules compiled three ways: uncached, cold, cached."""
    cache = tmp_path_factory.mktemp("cache")
    fresh = load_rules([shared_dir / ALL_ENABLED])
    cold = load_compiled([shared_dir / ALL_ENABLED], cache=cache)
    warm = load_compiled([shared_dir / ALL_ENABLED], cache=cache)
    return fresh, cold, warm


def test_cached_rules_alert_exactly_like_freshly_compiled_ones(community, shared_dir):
    fresh, cold, warm = community
    assert (cold.from_cache, warm.from_cache) == (False, True)
    uncached = Engine(fresh.rules)
    cached = Engine(warm.ruleset.rules, compiled=warm.compiled)
    total = 0
    for name in PCAPS:
        expected = alerts(uncached.fork(), shared_dir / "pcaps" / name)
        assert alerts(cached.fork(), shared_dir / "pcaps" / name) == expected, name
        total += len(expected)
    assert total > 80   # the comparison covered real alerts, not two empty lists


def test_cached_rule_set_reports_what_the_loader_and_compiler_reported(community):
    fresh, _, warm = community
    assert warm.ruleset.loaded == fresh.loaded and warm.ruleset.total == fresh.total
    assert [str(e) for e in warm.ruleset.errors] == [str(e) for e in fresh.errors]
    assert [str(w) for w in warm.ruleset.warnings] == [str(w) for w in fresh.warnings]
    assert [r.text for r in warm.ruleset.rules] == [r.text for r in fresh.rules]
    uncached = Engine(fresh.rules)
    cached = Engine(warm.ruleset.rules, compiled=warm.compiled)
    assert list(cached.rule_report) == list(uncached.rule_report)
    assert cached.stats["rules_loaded"] == uncached.stats["rules_loaded"] > 3000


def test_cached_signatures_point_at_the_cached_rules(community):
    """One pickle holds both: an alert's rule is the very Rule object the rule set lists."""
    _, _, warm = community
    listed = {id(rule) for rule in warm.ruleset.rules}
    assert all(id(sig.rule) in listed for sig in warm.compiled.detector.signatures)


# -- what invalidates -------------------------------------------------------------------
def test_second_load_is_a_hit_and_an_edited_rule_file_a_miss(cache_home, rules_file):
    assert not load_compiled([rules_file]).from_cache
    assert len(entries(cache_home)) == 1
    assert load_compiled([rules_file]).from_cache
    rules_file.write_text(RULES.replace('"smk="', '"smk=1234"'))
    edited = load_compiled([rules_file])
    assert not edited.from_cache
    content = edited.ruleset.by_sid(1000001).options[0]
    assert content.pattern == b"smk=1234"
    assert load_compiled([rules_file]).from_cache


def test_a_variable_or_include_disabled_changes_the_entry(cache_home, rules_file):
    base = load_compiled([rules_file])
    narrowed = load_compiled([rules_file], {"HOME_NET": "10.0.0.0/8"})
    assert not narrowed.from_cache
    assert narrowed.ruleset.by_sid(1000001).dst.include == ("10.0.0.0/8",)
    assert base.ruleset.by_sid(1000001).dst.any
    assert load_compiled([rules_file], {"HOME_NET": "10.0.0.0/8"}).from_cache
    assert not load_compiled([rules_file], include_disabled=True).from_cache
    assert len(entries(cache_home)) == 3


def test_the_file_name_is_part_of_the_key(cache_home, rules_file, tmp_path):
    """Rules and load errors cite their file: the same bytes elsewhere are another entry."""
    load_compiled([rules_file])
    copy = tmp_path / "copy.rules"
    copy.write_bytes(rules_file.read_bytes())
    loaded = load_compiled([copy])
    assert not loaded.from_cache and loaded.ruleset.rules[0].file == str(copy)


def test_the_dpictl_version_is_part_of_the_key(cache_home, rules_file, monkeypatch):
    load_compiled([rules_file])
    monkeypatch.setattr(rule_cache.dpictl, "__version__", "99.0.0")
    assert not load_compiled([rules_file]).from_cache


def test_builtin_rules_are_cached_too(cache_home):
    first, second = load_compiled([]), load_compiled([])
    assert (first.from_cache, second.from_cache) == (False, True)
    assert second.ruleset.by_sid(1_000_001) is not None


# -- bad entries, unusable directories, turned off ----------------------------------------
def _rewrite_payload(path: Path, payload: bytes) -> None:
    """A well-formed entry (right key and checksum) around the given payload."""
    blob = path.read_bytes()
    head = len(rule_cache._FORMAT) + 32
    path.write_bytes(blob[:head] + hashlib.sha256(payload).digest() + payload)


CORRUPTIONS = {
    "truncated": lambda p: p.write_bytes(p.read_bytes()[: p.stat().st_size // 2]),
    "flipped byte": lambda p: p.write_bytes(_flip(p.read_bytes(), -100)),
    "empty": lambda p: p.write_bytes(b""),
    "garbage": lambda p: p.write_bytes(os.urandom(4096)),
    "not a pickle": lambda p: _rewrite_payload(p, b"\x80\x05garbage"),
    "pickle of something else": lambda p: _rewrite_payload(p, pickle.dumps({"rules": []})),
}


def _flip(data: bytes, at: int) -> bytes:
    out = bytearray(data)
    out[at] ^= 0xFF
    return bytes(out)


@pytest.mark.parametrize("corrupt", CORRUPTIONS.values(), ids=CORRUPTIONS.keys())
def test_a_corrupt_entry_is_rebuilt_and_replaced(cache_home, rules_file, corrupt):
    load_compiled([rules_file])
    (entry,) = entries(cache_home)
    corrupt(entry)
    rebuilt = load_compiled([rules_file])
    assert not rebuilt.from_cache and rebuilt.ruleset.loaded == 2
    assert load_compiled([rules_file]).from_cache   # the bad entry was overwritten


def test_a_corrupt_entry_costs_the_cli_no_traceback(tmp_path, shared_dir):
    env = dict(os.environ, XDG_CACHE_HOME=str(tmp_path / "xdg"))
    env.pop(rule_cache.DISABLE_ENV, None)
    cmd = [sys.executable, "-m", "dpictl", "inspect", "-r",
           str(shared_dir / "pcaps" / "lab-smk.pcap"), "-o", "eve", "--no-store"]
    first = subprocess.run(cmd, env=env, capture_output=True, text=True, timeout=120)
    (entry,) = entries(tmp_path / "xdg" / "dpictl")
    entry.write_bytes(_flip(entry.read_bytes(), -10))
    second = subprocess.run(cmd, env=env, capture_output=True, text=True, timeout=120)
    assert first.returncode == second.returncode == 0, second.stderr
    assert "Traceback" not in second.stderr
    assert second.stdout == first.stdout and '"signature_id":1000001' in second.stdout


def test_disabled_cache_neither_reads_nor_writes(cache_home, rules_file, monkeypatch):
    load_compiled([rules_file])
    before = [(p, p.stat().st_mtime_ns) for p in entries(cache_home)]
    monkeypatch.setenv(rule_cache.DISABLE_ENV, "1")
    loaded = load_compiled([rules_file], {"HOME_NET": "10.0.0.0/8"})
    assert not loaded.from_cache and loaded.ruleset.loaded == 2
    assert not load_compiled([rules_file]).from_cache     # an entry exists; not read
    assert [(p, p.stat().st_mtime_ns) for p in entries(cache_home)] == before


def test_a_directory_others_can_write_is_not_used(cache_home, rules_file):
    cache_home.mkdir(parents=True)
    cache_home.chmod(0o777)
    assert not load_compiled([rules_file]).from_cache
    assert not load_compiled([rules_file]).from_cache
    assert entries(cache_home) == []


def test_an_unwritable_cache_location_only_costs_the_cache(tmp_path, rules_file, monkeypatch):
    blocker = tmp_path / "not-a-dir"
    blocker.write_text("")
    monkeypatch.setenv("XDG_CACHE_HOME", str(blocker))
    loaded = load_compiled([rules_file])
    assert not loaded.from_cache and loaded.ruleset.loaded == 2


def test_entries_are_written_whole_and_old_ones_pruned(cache_home, rules_file):
    for n in range(rule_cache._KEEP + 3):
        load_compiled([rules_file], {"HOME_NET": f"10.{n}.0.0/16"})
    assert len(entries(cache_home)) == rule_cache._KEEP
    assert not list(cache_home.glob("*.tmp"))
    assert oct(cache_home.stat().st_mode & 0o777) == oct(0o700)


def test_a_temporary_file_left_by_a_killed_writer_is_cleared(cache_home, rules_file):
    cache_home.mkdir(parents=True, mode=0o700)
    left = cache_home / ".rules-abc.tmp"
    left.write_bytes(b"half an entry")
    os.utime(left, (0, 0))
    fresh = cache_home / ".rules-def.tmp"      # another writer, still at work
    fresh.write_bytes(b"")
    load_compiled([rules_file])
    assert not left.exists() and fresh.exists()


def test_an_edited_included_file_is_a_miss(cache_home, tmp_path):
    """The key covers the named file; the file its include line reads is checked too."""
    (tmp_path / "main.rules").write_text("include $RULE_PATH/extra.rules\n")
    extra = tmp_path / "extra.rules"
    extra.write_text(RULES)
    assert not load_compiled([tmp_path / "main.rules"]).from_cache
    assert load_compiled([tmp_path / "main.rules"]).from_cache
    extra.write_text(RULES.replace('"smk="', '"smk=99"'))
    edited = load_compiled([tmp_path / "main.rules"])
    assert not edited.from_cache
    assert edited.ruleset.by_sid(1000001).options[0].pattern == b"smk=99"
