"""Where a netpol-guard worker's time goes under load: py-spy on both workers during a wrk run.

py-spy samples the workers from outside (no code change, ``--nonblocking`` so they are not
paused) while wrk saturates them with the review mix over 8 kept-alive connections. The
samples are summed per function (inclusive: a function and everything it calls) and reported
as a share of all samples, for the stages of a review and the layers around them.
"""

from __future__ import annotations

import os
import shutil
import subprocess
import sys
import threading
from collections import Counter
from pathlib import Path
from typing import Any

# (label, function name, file suffix): inclusive shares reported, in this order.
STAGES = (
    ("gevent connection handler (all request work)", "_handle_and_close_when_done",
     "gevent/baseserver.py"),
    ("  webhook.serving.plainhttp:serve_plain_reviews (plain reviews, answered by the worker)",
     "serve_plain_reviews", "webhook/serving/plainhttp.py"),
    ("    plainhttp:_read_head (TLS read of the request head)", "_read_head",
     "webhook/serving/plainhttp.py"),
    ("    plainhttp:parse_plain_head (is it the plain shape?)", "parse_plain_head",
     "webhook/serving/plainhttp.py"),
    ("    plainhttp:_read_body (TLS read of the body)", "_read_body",
     "webhook/serving/plainhttp.py"),
    ("    webhook.serving.validate:answer_review (parse, rules, response)", "answer_review",
     "webhook/serving/validate.py"),
    ("      webhook.admission.wire:parse_review", "parse_review", "webhook/admission/wire.py"),
    ("        webhook.admission.wire:_loads (orjson)", "_loads", "webhook/admission/wire.py"),
    ("        webhook.admission.wire:json_depth_upper_bound", "json_depth_upper_bound",
     "webhook/admission/wire.py"),
    ("        webhook.admission.wire:_parse_request", "_parse_request",
     "webhook/admission/wire.py"),
    ("      webhook.serving.review:review_request", "review_request", "webhook/serving/review.py"),
    ("        webhook.serving.review:read_snapshot", "read_snapshot", "webhook/serving/review.py"),
    ("        webhook.engine.dispatch:_network_policy", "_network_policy",
     "webhook/engine/dispatch.py"),
    ("          webhook.engine.networkpolicy:check_network_policy", "check_network_policy",
     "webhook/engine/networkpolicy.py"),
    ("          webhook.engine.normalize:normalise_network_policy", "normalise_network_policy",
     "webhook/engine/normalize.py"),
    ("        webhook.engine.dispatch:_workload", "_workload", "webhook/engine/dispatch.py"),
    ("        webhook.engine.dispatch:_namespace", "_namespace", "webhook/engine/dispatch.py"),
    ("        webhook.engine.defaultdeny:missing_directions", "missing_directions",
     "webhook/engine/defaultdeny.py"),
    ("        webhook.engine.defaultdeny_verdicts:needs_compliance_check",
     "needs_compliance_check", "webhook/engine/defaultdeny_verdicts.py"),
    ("    plainhttp:_send (TLS send of the answer)", "_send", "webhook/serving/plainhttp.py"),
    ("    plainhttp:_run (after the answer is sent: log line and metrics)", "_run",
     "webhook/serving/plainhttp.py"),
    ("      webhook.observe.logs:log_review (one JSON log line per review)", "log_review",
     "webhook/observe/logs.py"),
    ("      webhook.serving.validate:_record (metrics tallied in memory)", "_record",
     "webhook/serving/validate.py"),
    ("  gunicorn: parse the HTTP request (requests of any other shape)", "Parser.__next__",
     "gunicorn/http/parser.py"),
    ("  gunicorn: write the response (TLS send)", "Response.write", "gunicorn/http/wsgi.py"),
    ("  WSGI app (Flask.__call__, then webhook.serving.validate.ValidateRoute)", "Flask.__call__",
     "flask/app.py"),
    ("    Flask's request dispatch (not taken by /validate with a JSON body)",
     "Flask.wsgi_app", "flask/app.py"),
    ("  gevent.Timeout per request (webhook.serving.plainhttp and worker, gunicorn keep-alive)",
     "Timeout.__init__", "gevent/timeout.py"),
    ("balance ticker (webhook.serving.worker:_rebalance)", "_rebalance",
     "webhook/serving/worker.py"),
)


def ensure_py_spy() -> str | None:
    """py-spy's path, installed into this virtualenv with pip when missing; None if impossible."""
    candidates = [Path(sys.executable).parent / "py-spy", shutil.which("py-spy")]
    for candidate in candidates:
        if candidate and os.access(candidate, os.X_OK):
            return str(candidate)
    done = subprocess.run([sys.executable, "-m", "pip", "install", "--quiet", "py-spy"],
                          check=False)
    path = Path(sys.executable).parent / "py-spy"
    return str(path) if done.returncode == 0 and path.exists() else None


def _frame_key(frame: str) -> tuple[str, str]:
    # py-spy raw frames look like "function (path/to/file.py:123)".
    name, _, where = frame.partition(" (")
    return name, where.rsplit(":", 1)[0]


def summarise(raw_files: list[Path]) -> dict[str, Any]:
    inclusive: Counter[tuple[str, str]] = Counter()
    total = 0
    for raw in raw_files:
        if not raw.exists():
            continue
        for line in raw.read_text(encoding="utf-8", errors="replace").splitlines():
            stack, _, count_text = line.rpartition(" ")
            if not stack or not count_text.isdigit():
                continue
            count = int(count_text)
            total += count
            for key in {_frame_key(frame) for frame in stack.split(";")}:
                inclusive[key] += count
    shares: dict[str, float] = {}
    for label, function, suffix in STAGES:
        samples = sum(n for (name, path), n in inclusive.items()
                      if name == function and path.endswith(suffix))
        shares[label] = 100.0 * samples / total if total else 0.0
    top_webhook = [
        {"function": f"{path.split('/webhook/', 1)[-1]}:{name}",
         "share": 100.0 * n / total}
        for (name, path), n in inclusive.most_common()
        if "/webhook/" in path and "worker.py" not in path][:15]
    return {"samples": total, "stages_percent": shares, "top_webhook_inclusive": top_webhook}


def profile_workers(py_spy: str, pids: list[int], seconds: float, workdir: Path,
                    load: Any) -> dict[str, Any]:
    """Sample ``pids`` for ``seconds`` while ``load()`` runs (in a thread)."""
    runner = threading.Thread(target=load, daemon=True)
    runner.start()
    raws = [workdir / f"py-spy-{pid}.txt" for pid in pids]
    samplers = [subprocess.Popen([py_spy, "record", "--pid", str(pid), "--duration",
                                  f"{seconds:g}", "--rate", "250", "--format", "raw",
                                  "--nonblocking", "--output", str(raw)],
                                 stdout=subprocess.DEVNULL, stderr=subprocess.PIPE)
                for pid, raw in zip(pids, raws, strict=True)]
    errors = []
    for sampler in samplers:
        _, err = sampler.communicate(timeout=seconds + 60)
        if sampler.returncode != 0:
            errors.append(err.decode(errors="replace")[-500:])
    runner.join()
    result = summarise(raws)
    if errors:
        result["errors"] = errors
    return result
