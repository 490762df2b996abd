"""Fixtures for the reliability suite: real servers with short timeouts, and the figures.

The suite starts real ``netpol-guard serve`` processes (gunicorn, gevent workers, TLS) on
127.0.0.1. Servers use short timeouts so that cut-offs can be observed within seconds, and a
short graceful timeout so that stopping one does not wait for idle kept-alive connections.
"""

from __future__ import annotations

from collections.abc import Callable, Iterator
from pathlib import Path
from typing import Any

import pytest

from tests.conftest import ServedWebhook, start_webhook
from tests.reliability import figures

# What every reliability server gets unless a test says otherwise.
SHORT_TIMEOUTS = ("--handshake-timeout", "2", "--request-timeout", "3", "--keepalive", "2")
BASE_ARGS = ("--workers", "2", "--graceful-timeout", "3")

ServerFactory = Callable[..., ServedWebhook]


def pytest_configure(config: pytest.Config) -> None:
    config.addinivalue_line("markers", "faults: injects faults into a real server under load")
    config.addinivalue_line("markers", "session_logs: runs last; checks every server log of "
                                       "the session")


def pytest_collection_modifyitems(items: list[pytest.Item]) -> None:
    # The log check must see the logs of every server the session started.
    last = [item for item in items if item.get_closest_marker("session_logs")]
    if last:
        items[:] = [item for item in items if item not in last] + last


def pytest_terminal_summary(terminalreporter: Any) -> None:
    if not any(sum(counter.values()) for _, counter in figures.SECTIONS):
        return
    terminalreporter.section("netpol-guard reliability figures")
    for line in figures.report_lines():
        terminalreporter.write_line(line)


@pytest.fixture(scope="session")
def reliability_certs(tmp_path_factory: pytest.TempPathFactory) -> Any:
    """A dev CA and serving certificate for the suite's servers."""
    from webhook.cli.certs import write_dev_certificates

    return write_dev_certificates(tmp_path_factory.mktemp("reliability-certs"))


@pytest.fixture
def serve(tmp_path: Path, reliability_certs: Any) -> Iterator[ServerFactory]:
    """Start servers for one test (stopped at its end): ``serve(*args, certs=..., ...)``."""
    started: list[ServedWebhook] = []

    def start(*args: str, certs: Any = None, wait_ready: bool = True,
              env: dict[str, str] | None = None) -> ServedWebhook:
        served = start_webhook(tmp_path, certs or reliability_certs, *BASE_ARGS, *args,
                               env=env, wait_ready=wait_ready)
        started.append(served)
        return served

    yield start
    for served in started:
        served.stop()


@pytest.fixture(scope="session")
def short_timeout_server(tmp_path_factory: pytest.TempPathFactory,
                         reliability_certs: Any) -> Iterator[ServedWebhook]:
    """One server shared by the fuzz, hostile-input and security tests: default policy, empty
    inventory, 2 s handshake/keepalive and 3 s request timeouts."""
    workdir = tmp_path_factory.mktemp("short-timeouts")
    inventory = workdir / "inventory"
    inventory.mkdir()
    served = start_webhook(workdir, reliability_certs, *BASE_ARGS, *SHORT_TIMEOUTS,
                           "--inventory", str(inventory))
    yield served
    served.stop()
