"""Instructions per review, counted by valgrind: netpol-guard's app against the reference app.

Throughput on a shared 2-core machine moves ±10-20 % from run to run; an instruction count
moves by about 2 %. Each app (called as a WSGI application, as in ``breakdown``) runs the
load mix under ``valgrind --tool=callgrind`` twice — once warm-up only, once warm-up plus
``REPS`` passes over the mix — and the difference divided by the reviews is the instructions
one review costs, free of start-up. The 10-peer NetworkPolicy evaluation of ``engine`` is
counted the same way.

The HTTP stack under gunicorn (TLS, HTTP parsing, gevent) is not in these counts and costs the
same for both apps; the load part measures it. valgrind comes from apt-get when missing.

    python -m bench.instructions   # or: python -m bench.run --only instructions
"""

from __future__ import annotations

import json
import os
import re
import subprocess
import sys
import tempfile
from concurrent.futures import ThreadPoolExecutor
from pathlib import Path
from typing import Any

from bench.tools import ensure_command
from bench.workload import MIX, REPO

REPS = 2  # passes over the mix (MIX has 100 reviews)
ENGINE_EVALUATIONS = 500

# Runs inside valgrind: ``what`` is ref | app | engine, ``reps`` the passes to count.
_CHILD = r"""
import os, sys, tempfile
from pathlib import Path
what, reps, workdir = sys.argv[1], int(sys.argv[2]), Path(sys.argv[3])
os.environ["PROMETHEUS_MULTIPROC_DIR"] = tempfile.mkdtemp(dir=workdir)
# The metrics flusher would wake on the wall clock, which valgrind stretches: no timer; the
# tally is written after each pass over the mix instead (every 100 reviews; a server at
# 2,000 reviews/s writes it once per 2,000).
os.environ["NETPOL_GUARD_METRICS_FLUSH_SECONDS"] = "86400"
if what == "engine":
    import json
    from bench.engine import TYPICAL_PEERS, network_policy
    from webhook.engine.networkpolicy import check_network_policy
    from webhook.policy.loader import default_policy
    from webhook.admission.request import UserInfo
    policy = default_policy()
    user = UserInfo(username="kubernetes-admin", groups=("system:masters",))
    text = json.dumps(network_policy(TYPICAL_PEERS))
    # Both runs build the same pool (fresh objects, as reviews are), so only the evaluations
    # differ between them.
    pool = [json.loads(text) for _ in range(int(sys.argv[4]) + 1)]
    check_network_policy(pool[0], policy, user)
    for obj in pool[1:reps + 1]:
        check_network_policy(obj, policy, user)
    sys.exit(0)
from bench.breakdown import _call, build_netpol_guard_app
from bench.workload import FIXTURES, MIX
bodies = [(FIXTURES / f"{name}.json").read_bytes()
          for name, weight in MIX.items() for _ in range(weight)]
if what == "ref":
    from bench.reference_app import create_reference_app
    app = create_reference_app()
else:
    app = build_netpol_guard_app(workdir)
    # Its policy file poller would add a varying count.
    app.extensions["netpol_guard"].policy_store.stop()
from webhook.observe.metrics import REVIEW_TALLY
for body in bodies:
    _call(app, body)
REVIEW_TALLY.flush()
for _ in range(reps):
    for body in bodies:
        _call(app, body)
    REVIEW_TALLY.flush()
"""


def _count(valgrind: str, what: str, reps: int, workdir: Path) -> int:
    run_dir = Path(tempfile.mkdtemp(dir=workdir))
    done = subprocess.run(
        [valgrind, "--tool=callgrind", "--callgrind-out-file=/dev/null",
         sys.executable, "-c", _CHILD, what, str(reps), str(run_dir), str(ENGINE_EVALUATIONS)],
        capture_output=True, text=True, check=False, cwd=REPO,
        # Same hashes, same dict layouts in every run.
        env={**os.environ, "PYTHONHASHSEED": "0", "PYTHONPATH": str(REPO)})
    found = re.search(r"Collected\s*:\s*(\d+)", done.stderr)
    if done.returncode != 0 or found is None:
        raise RuntimeError(f"callgrind run of {what} failed:\n{done.stderr[-3000:]}")
    return int(found.group(1))


def run_instructions(workdir: Path) -> dict[str, Any]:
    """Instructions per review for both apps and per typical evaluation; their ratio."""
    valgrind = ensure_command("valgrind")
    reviews = sum(MIX.values()) * REPS
    jobs = {("ref", 0): 0, ("ref", REPS): 0, ("app", 0): 0, ("app", REPS): 0,
            ("engine", 0): 0, ("engine", ENGINE_EVALUATIONS): 0}
    with ThreadPoolExecutor(max_workers=os.cpu_count() or 2) as pool:
        futures = {key: pool.submit(_count, valgrind, key[0], key[1], workdir) for key in jobs}
        counts = {key: future.result() for key, future in futures.items()}
    reference = (counts[("ref", REPS)] - counts[("ref", 0)]) / reviews
    ours = (counts[("app", REPS)] - counts[("app", 0)]) / reviews
    engine = ((counts[("engine", ENGINE_EVALUATIONS)] - counts[("engine", 0)])
              / ENGINE_EVALUATIONS)
    return {
        "reviews_counted": reviews,
        "reference_app_per_review": reference,
        "netpol_guard_app_per_review": ours,
        "netpol_guard_over_reference": ours / reference,
        "typical_evaluation": engine,
    }


if __name__ == "__main__":
    with tempfile.TemporaryDirectory(prefix="netpol-guard-instructions-") as temp:
        print(json.dumps(run_instructions(Path(temp)), indent=2))
