"""A DaemonSet agent's copy of the published ruleset: the `dpictl-rules` ConfigMap, polled and
written into the agent's rules directory, where the runtime's reload check (file stamps)
picks it up at its next reconcile - the same path a local `rules update` takes.

Polled (one GET every few seconds) rather than watched: one small object, and RBAC can then
grant `get` on that one name only. A failed read keeps the rules already in place.
"""

from __future__ import annotations

import logging
import threading

from dpictl.backends.kubernetes.rules_configmap import read_ruleset
from dpictl.rulesets.layout import RulesDir, write_atomically

log = logging.getLogger(__name__)

POLL_SECONDS = 5.0
FILES = ("managed.rules", "threshold.config")


class RulesConfigMapSync:
    """Keeps `rules.managed` / `rules.threshold` equal to the ConfigMap's files."""

    def __init__(self, backend, namespace: str, rules: RulesDir,
                 interval: float = POLL_SECONDS) -> None:
        self.backend = backend
        self.namespace = namespace
        self.rules = rules
        self.interval = interval
        self.digest: str | None = None
        self._stop = threading.Event()
        self._thread: threading.Thread | None = None

    def sync_once(self) -> bool:
        """Read the ConfigMap; True when it brought new files."""
        published = read_ruleset(self.backend, self.namespace)
        if published is None or published[0] == self.digest:
            return False
        digest, files = published
        targets = {"managed.rules": self.rules.managed, "threshold.config": self.rules.threshold}
        for name in FILES:
            if name in files:
                write_atomically(targets[name], files[name])
            else:
                targets[name].unlink(missing_ok=True)
        self.digest = digest
        log.info("rules from ConfigMap %s/dpictl-rules (sha256 %s)", self.namespace, digest[:12])
        return True

    def start(self) -> RulesConfigMapSync:
        self._thread = threading.Thread(target=self._run, name="rules-sync", daemon=True)
        self._thread.start()
        return self

    def stop(self) -> None:
        self._stop.set()

    def _run(self) -> None:
        while not self._stop.is_set():
            try:
                self.sync_once()
            except Exception as exc:  # noqa: BLE001 - keep the rules in place, retry
                log.warning("reading the rules ConfigMap failed: %s", exc)
            self._stop.wait(self.interval)


def start_rules_sync(backend, namespace: str | None = None,
                     rules: RulesDir | None = None) -> RulesConfigMapSync:
    """Sync once now (so the first engine already has the published rules), then poll.
    `namespace`: the agent's own (POD_NAMESPACE, set by the DaemonSet)."""
    import os

    from dpictl.backends.kubernetes.agent_manifests import DEFAULT_NAMESPACE

    sync = RulesConfigMapSync(backend, namespace or os.environ.get("POD_NAMESPACE")
                              or DEFAULT_NAMESPACE, rules or RulesDir.default())
    try:
        sync.sync_once()
    except Exception as exc:  # noqa: BLE001 - the built-in rules still run; retried by polling
        log.warning("reading the rules ConfigMap failed: %s", exc)
    return sync.start()


__all__ = ["RulesConfigMapSync", "start_rules_sync", "POLL_SECONDS"]
