"""HTTP status lines as both doors to /validate write them (``200 OK``, ``415 Unsupported
Media Type``). A module of its own, importing nothing of the app: the gunicorn master imports
the worker class, and must not create the app's metrics (webhook.serving.plainhttp)."""

from __future__ import annotations

from http import HTTPStatus

STATUS_LINES = {status.value: f"{status.value} {status.phrase}" for status in HTTPStatus}
