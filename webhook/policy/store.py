"""Hot reload of the policy file, keeping the last good policy (DESIGN.md §4, §5).

The policy usually lives in a mounted ConfigMap: kubelet writes each version into a fresh
``..2026_...`` directory and swaps the ``..data`` symlink, so ``policy.yaml`` keeps its name while
the file behind it changes. ``PolicyStore.current()`` is called for every review; at most once
per ``poll_interval`` it stats the file (following the symlinks) and reloads when the file's
identity (device, inode, mtime, size) and then the sha256 of its text have changed.

- A valid new document replaces the old one in a single reference assignment, so a reader sees
  either the old or the new ``Policy``, never a mix.
- An invalid or unreadable one is refused: logged once (logger ``netpol_guard.policy``; one
  JSON line through ``webhook.observe.logs.JsonFormatter``, with the problems in its fields),
  ``netpol_guard_policy_valid`` set to 0, the reload-error counter incremented, and the last
  good policy stays in force.
- Until a first valid policy has loaded the store is not ready: ``is_ready()`` is False (so
  ``/readyz`` fails and the Service sends no reviews here) and ``current()`` raises
  ``PolicyNotReady`` rather than silently enforcing a policy the operator did not choose.
  Callers answer such a review with a deny that says the policy is not loaded (never a 500).
"""

from __future__ import annotations

import hashlib
import logging
import os
import threading
import time
from collections.abc import Callable
from dataclasses import dataclass, replace
from typing import Any

from webhook.observe import metrics
from webhook.policy.loader import DEFAULT_SOURCE, PolicyError, default_policy, load_policy_text
from webhook.policy.model import Policy
from webhook.policy.yamldoc import MAX_DOCUMENT_BYTES

logger = logging.getLogger("netpol_guard.policy")

# (st_dev, st_ino, st_mtime_ns, st_size) of the file behind the symlinks.
FileIdentity = tuple[int, int, int, int]


class PolicyNotReady(RuntimeError):
    """No valid policy has loaded yet (the file is missing, unreadable or invalid)."""


@dataclass(frozen=True, slots=True)
class _State:
    """Everything readers see, replaced as one object so it is always consistent."""

    policy: Policy | None = None
    generation: int = 0
    valid: bool = False
    last_error: str | None = None
    identity: FileIdentity | None = None
    # sha256 of the last text read, valid or not: the same bad text is refused (and counted) once.
    seen_sha256: str = ""
    loaded_at: float | None = None


class PolicyStore:
    """The policy in force, reloaded from ``path`` when it changes; default policy when None."""

    def __init__(self, path: str | os.PathLike[str] | None, poll_interval: float = 1.0, *,
                 clock: Callable[[], float] = time.monotonic) -> None:
        self.path = os.fspath(path) if path is not None else None
        self.poll_interval = poll_interval
        self._clock = clock
        self._lock = threading.Lock()
        self._stop = threading.Event()
        self._thread: threading.Thread | None = None
        self._state = _State()
        self._next_check = 0.0
        if self.path is None:
            policy = default_policy()
            self._state = _State(policy=policy, generation=1, valid=True,
                                 seen_sha256=policy.digest, loaded_at=time.time())
            self._publish(None, policy)
        else:
            self.refresh()

    # --- reading -------------------------------------------------------------------------------

    def current(self) -> Policy:
        """The policy in force; cheap enough to call for every review.

        Raises ``PolicyNotReady`` while no valid policy has loaded.
        """
        if self.path is not None and self._clock() >= self._next_check \
                and self._lock.acquire(blocking=False):
            # Whoever holds the lock checks the file; everyone else reads the current policy.
            try:
                self._refresh_locked()
            finally:
                self._lock.release()
        policy = self._state.policy
        if policy is None:
            raise PolicyNotReady(f"no valid policy loaded from {self.path}: "
                                 f"{self._state.last_error}")
        return policy

    def is_ready(self) -> bool:
        """True once a valid policy has loaded (it then stays loaded)."""
        return self._state.policy is not None

    def status(self) -> dict[str, Any]:
        """For /readyz and logs: ready, valid, generation, sha256, source, last_error."""
        state = self._state
        return {
            "ready": state.policy is not None,
            "valid": state.valid,
            "generation": state.generation,
            "sha256": state.policy.digest if state.policy else None,
            "source": state.policy.source if state.policy else self.path,
            "last_error": state.last_error,
            "loaded_at": state.loaded_at,
        }

    # --- reloading -----------------------------------------------------------------------------

    def refresh(self) -> bool:
        """Check the file now (blocking); True when a new policy came into force."""
        if self.path is None:
            return False
        with self._lock:
            return self._refresh_locked()

    def start(self) -> None:
        """Poll in a daemon thread, so a new policy takes effect even without traffic."""
        if self.path is None or self._thread is not None:
            return
        self._stop.clear()
        self._thread = threading.Thread(target=self._poll, name="netpol-guard-policy",
                                        daemon=True)
        self._thread.start()

    def stop(self) -> None:
        """Stop the polling thread (if started) and wait for it."""
        self._stop.set()
        thread, self._thread = self._thread, None
        if thread is not None:
            thread.join()

    def _poll(self) -> None:
        while not self._stop.wait(self.poll_interval):
            try:
                self.refresh()
            except Exception:  # never let the poller die: the next round retries
                logger.exception("policy poll failed")

    def _refresh_locked(self) -> bool:
        assert self.path is not None
        self._next_check = self._clock() + self.poll_interval
        state = self._state
        try:
            identity = _identity(os.stat(self.path))
            if identity == state.identity:
                return False
            data, identity = _read(self.path)
        except OSError as error:
            message = f"cannot read {self.path}: {error.strerror or error}"
            if state.last_error != message:  # log and count each distinct failure once
                self._refuse(replace(state, identity=None), message, [message], "")
            return False
        digest = hashlib.sha256(data).hexdigest()
        if state.policy is not None and digest == state.policy.digest:
            # The text in force, rewritten or put back after a refused one (or a read error
            # cleared): no new generation, and the file again says what is in force.
            self._state = replace(state, identity=identity, seen_sha256=digest, valid=True,
                                  last_error=None)
            if not state.valid:
                metrics.POLICY_VALID.set(1)
            return False
        if digest == state.seen_sha256:
            # The text refused last time, under a new identity: refused (and counted) once.
            self._state = replace(state, identity=identity)
            return False
        try:
            policy = load_policy_text(data, source=self.path)
        except PolicyError as error:
            problems = [str(problem) for problem in error.problems]
            self._refuse(replace(state, identity=identity, seen_sha256=digest),
                         f"{len(problems)} problem(s): {problems[0]}", problems, digest)
            return False
        old = state.policy
        self._state = _State(policy=policy, generation=state.generation + 1, valid=True,
                             identity=identity, seen_sha256=digest, loaded_at=time.time())
        self._publish(old, policy)
        logger.info(f"policy loaded: generation {state.generation + 1}", extra={"fields": {
            "event": "policy_loaded", "source": policy.source, "sha256": policy.digest,
            "generation": state.generation + 1,
        }})
        return True

    def _refuse(self, state: _State, summary: str, problems: list[str], digest: str) -> None:
        self._state = replace(state, valid=False, last_error=summary)
        metrics.POLICY_VALID.set(0)
        metrics.POLICY_RELOAD_ERRORS.inc()
        if state.policy is not None:
            keeping = (f"keeping last good policy generation {state.generation} "
                       f"sha256 {state.policy.digest}")
        else:
            keeping = "no valid policy loaded yet: not ready"
        # webhook.observe.logs.JsonFormatter writes msg and fields as one JSON line.
        logger.error(f"policy refused; {keeping}", extra={"fields": {
            "event": "policy_refused", "source": self.path, "sha256": digest or None,
            "problems": problems, "generation": state.generation,
        }})

    def _publish(self, old: Policy | None, new: Policy) -> None:
        metrics.POLICY_VALID.set(1)
        metrics.POLICY_GENERATION.set(self._state.generation)
        if old is not None and (old.source, old.digest) != (new.source, new.digest):
            # 0 first: in multiprocess mode remove() cannot erase the value already on disk.
            metrics.POLICY_INFO.labels(old.source, old.digest).set(0)
            metrics.POLICY_INFO.remove(old.source, old.digest)
        metrics.POLICY_INFO.labels(new.source or DEFAULT_SOURCE, new.digest).set(1)


def _identity(stat: os.stat_result) -> FileIdentity:
    return (stat.st_dev, stat.st_ino, stat.st_mtime_ns, stat.st_size)


def _read(path: str) -> tuple[bytes, FileIdentity]:
    """The file's bytes (at most the cap + 1) and the identity of the very file read."""
    with open(path, "rb") as handle:
        identity = _identity(os.fstat(handle.fileno()))
        return handle.read(MAX_DOCUMENT_BYTES + 1), identity
