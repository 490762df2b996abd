"""The review log line: one JSON object per review, whatever stream the handler writes to."""

from __future__ import annotations

import io
import json
import logging
from collections.abc import Iterator
from typing import Any

import pytest

from tests.conftest import load_review
from webhook.admission.decision import Action, Violation, decide
from webhook.admission.wire import parse_review
from webhook.observe import logs


@pytest.fixture
def review_handler() -> Iterator[logging.StreamHandler[Any]]:
    logs.configure("info")
    handler = logs._review_handler
    assert handler is not None
    original = handler.stream
    yield handler
    handler.setStream(original)


def log_one(handler: logging.StreamHandler[Any], stream: Any) -> None:
    handler.setStream(stream)
    body = json.dumps(load_review("networkpolicy-create-allow-all-ingress")).encode()
    _, request = parse_review(body)
    decision = decide(request.subject, [Violation("NP001", "allow-all-sources",
                                                  "spec.ingress[0]", "no from", Action.DENY)])
    logs.log_review(request, decision, 1.23456)


@pytest.mark.parametrize("make_stream", [
    pytest.param(io.StringIO, id="text stream without a binary buffer"),
    pytest.param(lambda: io.TextIOWrapper(io.BytesIO(), encoding="utf-8"),
                 id="text stream over a binary buffer, like stderr"),
])
def test_one_json_line_per_review(review_handler: logging.StreamHandler[Any],
                                  make_stream: Any) -> None:
    stream = make_stream()
    log_one(review_handler, stream)
    text = (stream.getvalue() if isinstance(stream, io.StringIO)
            else stream.buffer.getvalue().decode())
    assert text.endswith("\n") and text.count("\n") == 1
    line = json.loads(text)
    assert list(line)[:4] == ["time", "level", "logger", "msg"]
    assert line["msg"] == "review" and line["level"] == "info"
    assert line["logger"] == "netpol_guard.review"
    assert line["time"].endswith("Z") and len(line["time"]) == len("2026-11-26T05:46:04.123Z")
    assert line["verdict"] == "denied" and line["code"] == 403 and line["rules"] == ["NP001"]
    assert line["durationMs"] == 1.235 and line["kind"] == "NetworkPolicy"
    assert "object" not in line and "spec" not in json.dumps(line)
