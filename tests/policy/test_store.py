"""Hot reload: a new valid document takes over, an invalid one never does, readers stay safe."""

from __future__ import annotations

import hashlib
import json
import logging
import threading
import time
from pathlib import Path

import pytest
from prometheus_client import REGISTRY

from webhook.admission.decision import Action
from webhook.observe.logs import JsonFormatter
from webhook.policy.loader import default_policy
from webhook.policy.model import RULES
from webhook.policy.store import PolicyNotReady, PolicyStore

from .conftest import VALID, ConfigMapVolume


def doc(min_prefix: int) -> str:
    return VALID + f"rules:\n  NP006: {{action: deny, minPrefixV4: {min_prefix}}}\n"


BAD = VALID + "rules:\n  NP006: {minPrefixV4: 99}\n"


def sha(text: str) -> str:
    return hashlib.sha256(text.encode()).hexdigest()


def sample(name: str, labels: dict[str, str] | None = None) -> float | None:
    return REGISTRY.get_sample_value(name, labels or {})


def reload_errors() -> float:
    return sample("netpol_guard_policy_reload_errors_total") or 0.0


@pytest.fixture
def store(volume: ConfigMapVolume) -> PolicyStore:
    volume.publish(doc(20))
    # poll_interval 0: every current() looks at the file, so tests need no waiting.
    return PolicyStore(volume.path, poll_interval=0)


def test_no_path_serves_the_default_policy() -> None:
    store = PolicyStore(None)
    assert store.is_ready()
    assert store.current() is default_policy()
    assert store.status()["generation"] == 1
    assert store.refresh() is False


def test_a_valid_file_is_loaded_at_start(store: PolicyStore, volume: ConfigMapVolume) -> None:
    assert store.is_ready()
    policy = store.current()
    assert policy.rule("NP006").min_prefix_v4 == 20
    assert policy.source == str(volume.path)
    assert policy.digest == sha(doc(20))
    assert store.status() == {
        "ready": True, "valid": True, "generation": 1, "sha256": sha(doc(20)),
        "source": str(volume.path), "last_error": None,
        "loaded_at": store.status()["loaded_at"],
    }
    assert sample("netpol_guard_policy_valid") == 1
    assert sample("netpol_guard_policy_generation") == 1
    assert sample("netpol_guard_policy_info",
                  {"source": str(volume.path), "sha256": sha(doc(20))}) == 1


def test_a_new_document_swapped_in_like_kubelet_is_reloaded(store: PolicyStore,
                                                            volume: ConfigMapVolume) -> None:
    volume.publish(doc(24))
    policy = store.current()
    assert policy.rule("NP006").min_prefix_v4 == 24
    assert store.status()["generation"] == 2
    assert sample("netpol_guard_policy_generation") == 2
    assert sample("netpol_guard_policy_info",
                  {"source": str(volume.path), "sha256": sha(doc(24))}) == 1
    assert not sample("netpol_guard_policy_info",
                      {"source": str(volume.path), "sha256": sha(doc(20))})


def test_the_same_text_written_again_is_not_a_new_generation(store: PolicyStore,
                                                             volume: ConfigMapVolume) -> None:
    before = store.current()
    volume.publish(doc(20))
    assert store.current() is before
    assert store.status()["generation"] == 1


def test_an_invalid_document_keeps_the_last_good_policy(
        store: PolicyStore, volume: ConfigMapVolume, caplog: pytest.LogCaptureFixture) -> None:
    good = store.current()
    errors = reload_errors()
    volume.publish(BAD)
    with caplog.at_level(logging.ERROR, logger="netpol_guard.policy"):
        assert store.current() is good
    status = store.status()
    assert status["generation"] == 1
    assert status["valid"] is False
    assert status["ready"] is True
    assert "rules.NP006.minPrefixV4: 99 is greater than the maximum of 32" in status["last_error"]
    assert sample("netpol_guard_policy_valid") == 0
    assert reload_errors() == errors + 1
    [record] = [r for r in caplog.records if r.name == "netpol_guard.policy"]
    line = json.loads(JsonFormatter().format(record))
    assert line["msg"] == \
        f"policy refused; keeping last good policy generation 1 sha256 {sha(doc(20))}"
    assert line["event"] == "policy_refused"
    assert line["sha256"] == sha(BAD)
    assert line["problems"] == [
        "line 4: rules.NP006.minPrefixV4: 99 is greater than the maximum of 32"]
    # Polling the same bad file again neither logs nor counts it again.
    caplog.clear()
    with caplog.at_level(logging.ERROR, logger="netpol_guard.policy"):
        assert store.current() is good
        volume.publish(BAD)
        assert store.current() is good
    assert reload_errors() == errors + 1
    assert caplog.records == []


def test_a_valid_document_after_an_invalid_one_recovers(store: PolicyStore,
                                                        volume: ConfigMapVolume) -> None:
    volume.publish(BAD)
    store.current()
    volume.publish(doc(28))
    assert store.current().rule("NP006").min_prefix_v4 == 28
    status = store.status()
    assert (status["generation"], status["valid"], status["last_error"]) == (2, True, None)
    assert sample("netpol_guard_policy_valid") == 1


def test_the_good_document_put_back_after_an_invalid_one_is_valid_again(
        store: PolicyStore, volume: ConfigMapVolume) -> None:
    good = store.current()
    volume.publish(BAD)
    store.current()
    volume.publish(doc(20))
    assert store.current() is good
    assert store.status()["valid"] is True
    assert store.status()["last_error"] is None
    assert sample("netpol_guard_policy_valid") == 1


def test_an_invalid_document_at_start_is_not_ready_until_a_valid_one_arrives(
        volume: ConfigMapVolume) -> None:
    volume.publish(BAD)
    store = PolicyStore(volume.path, poll_interval=0)
    assert not store.is_ready()
    with pytest.raises(PolicyNotReady, match="minPrefixV4"):
        store.current()
    assert store.status()["ready"] is False
    assert store.status()["generation"] == 0
    assert sample("netpol_guard_policy_valid") == 0
    volume.publish(doc(22))
    assert store.current().rule("NP006").min_prefix_v4 == 22
    assert store.is_ready()
    assert store.status()["generation"] == 1


def test_a_missing_file_at_start_is_not_ready(tmp_path: Path) -> None:
    store = PolicyStore(tmp_path / "policy.yaml", poll_interval=0)
    assert not store.is_ready()
    with pytest.raises(PolicyNotReady, match="cannot read"):
        store.current()
    (tmp_path / "policy.yaml").write_text(doc(18))
    assert store.current().rule("NP006").min_prefix_v4 == 18


def test_a_file_that_disappears_keeps_the_last_good_policy(tmp_path: Path) -> None:
    path = tmp_path / "policy.yaml"
    path.write_text(doc(18))
    store = PolicyStore(path, poll_interval=0)
    good = store.current()
    path.unlink()
    assert store.current() is good
    assert store.status()["valid"] is False
    assert "cannot read" in store.status()["last_error"]
    path.write_text(doc(18))
    assert store.current() is good
    assert store.status()["valid"] is True


def test_the_file_is_looked_at_once_per_poll_interval(volume: ConfigMapVolume) -> None:
    now = [100.0]
    volume.publish(doc(20))
    store = PolicyStore(volume.path, poll_interval=5.0, clock=lambda: now[0])
    volume.publish(doc(24))
    assert store.current().rule("NP006").min_prefix_v4 == 20  # not due yet
    now[0] += 5.0
    assert store.current().rule("NP006").min_prefix_v4 == 24


def test_the_background_poller_reloads_without_traffic(volume: ConfigMapVolume) -> None:
    volume.publish(doc(20))
    store = PolicyStore(volume.path, poll_interval=0.01)
    store.start()
    try:
        volume.publish(doc(26))
        deadline = time.monotonic() + 10
        while store.status()["generation"] < 2 and time.monotonic() < deadline:
            time.sleep(0.01)
        assert store.status()["generation"] == 2
    finally:
        store.stop()
    # The reload happened in the poller, not in current(); the new policy is there.
    assert store._state.policy is not None
    assert store._state.policy.rule("NP006").min_prefix_v4 == 26


def test_readers_in_threads_always_see_a_complete_policy(volume: ConfigMapVolume) -> None:
    valid = {sha(doc(n)): n for n in range(16, 33)}
    volume.publish(doc(16))
    store = PolicyStore(volume.path, poll_interval=0)
    stop = threading.Event()
    failures: list[str] = []
    seen: set[str] = set()

    def read() -> None:
        while not stop.is_set():
            try:
                policy = store.current()
                assert len(policy.rules) == len(RULES)
                assert policy.rule("NP006").min_prefix_v4 == valid[policy.digest]
                assert policy.rule("NP006").action is Action.DENY
                seen.add(policy.digest)
                time.sleep(0)  # yield the GIL so the writer gets to swap files
            except Exception as error:  # noqa: BLE001 - collected and asserted below
                failures.append(repr(error))
                return

    readers = [threading.Thread(target=read) for _ in range(8)]
    for reader in readers:
        reader.start()
    try:
        for n in range(17, 33):
            volume.publish(BAD)
            volume.publish(doc(n))
            time.sleep(0.002)  # let readers run between swaps
    finally:
        stop.set()
        for reader in readers:
            reader.join()
    assert failures == []
    assert store.current().rule("NP006").min_prefix_v4 == 32
    assert len(seen) > 1
