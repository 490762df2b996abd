"""JSON log lines: one per review, and the server's own events. Never an object's content."""

from __future__ import annotations

import json
import logging
import sys
import time
from typing import Any, TextIO

import orjson

from webhook.admission.decision import Decision
from webhook.admission.request import AdmissionRequest

REVIEW_LOGGER = logging.getLogger("netpol_guard.review")


class JsonFormatter(logging.Formatter):
    """Formats a record as one JSON object; structured fields come from ``extra={"fields":…}``."""

    def format(self, record: logging.LogRecord) -> str:
        entry: dict[str, Any] = {
            "time": time.strftime("%Y-%m-%dT%H:%M:%S", time.gmtime(record.created))
            + f".{int(record.msecs):03d}Z",
            "level": record.levelname.lower(),
            "logger": record.name,
            "msg": record.getMessage(),
        }
        fields = getattr(record, "fields", None)
        if isinstance(fields, dict):
            entry.update(fields)
        if record.exc_info:
            entry["error"] = self.formatException(record.exc_info)
        return json.dumps(entry, default=str)


_review_handler: logging.StreamHandler[TextIO] | None = None


def configure(level: str = "info") -> None:
    """Send the ``netpol_guard`` loggers to stderr as JSON lines (idempotent).

    Review lines, one per admission review, are then written straight to stderr: going
    through the logging machinery cost three times as much per review (bench/).
    """
    global _review_handler
    root = logging.getLogger("netpol_guard")
    root.setLevel(level.upper())
    for handler in root.handlers:
        if getattr(handler, "_netpol_guard", False):
            break
    else:
        handler = logging.StreamHandler(sys.stderr)
        handler.setFormatter(JsonFormatter())
        handler._netpol_guard = True  # type: ignore[attr-defined]
        root.addHandler(handler)
        root.propagate = False
    assert isinstance(handler, logging.StreamHandler)
    _review_handler = handler


def review_fields(request: AdmissionRequest, decision: Decision,
                  duration_ms: float) -> dict[str, Any]:
    """The fields of a review's log line: who, what and the verdict — not the object."""
    return {
        "uid": request.uid,
        "kind": request.kind,
        "namespace": request.namespace,
        "name": request.name,
        "operation": request.operation,
        "dryRun": request.dry_run,
        "user": request.user.username,
        "verdict": decision.verdict,
        "code": decision.code if not decision.allowed else 200,
        "rules": list(decision.rule_ids),
        "durationMs": round(duration_ms, 3),
    }


def log_review(request: AdmissionRequest, decision: Decision, duration_ms: float) -> None:
    """One JSON line for one review."""
    if not REVIEW_LOGGER.isEnabledFor(logging.INFO):
        return
    fields = review_fields(request, decision, duration_ms)
    handler = _review_handler
    if handler is None:  # not configured (tests, library use): the ordinary logging path
        REVIEW_LOGGER.info("review", extra={"fields": fields})
        return
    # The line as JsonFormatter would write it, joined as bytes: the head (time, level,
    # logger, msg) before the fields, without building a second dict.
    head = (f'{{"time":"{_timestamp(time.time())}","level":"info",'
            f'"logger":"{REVIEW_LOGGER.name}","msg":"review",')
    line = head.encode() + orjson.dumps(fields, option=orjson.OPT_APPEND_NEWLINE)[1:]
    # The handler's own stream (stderr unless redirected), written as its emit() would;
    # straight to its binary buffer when it has one (no text-layer encoding per review).
    stream = handler.stream
    binary = getattr(stream, "buffer", None)
    if binary is None:
        stream.write(line.decode())
    else:
        binary.write(line)
        stream = binary
    stream.flush()


_stamp_second = -1
_stamp_prefix = ""


def _timestamp(now: float) -> str:
    """``2026-11-26T05:46:04.123Z``; the part up to the second is built once a second."""
    global _stamp_second, _stamp_prefix
    second = int(now)
    if second != _stamp_second:
        _stamp_second = second
        _stamp_prefix = time.strftime("%Y-%m-%dT%H:%M:%S", time.gmtime(second))
    return f"{_stamp_prefix}.{int((now - second) * 1000):03d}Z"
