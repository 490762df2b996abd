"""atheris (libFuzzer) targets for the code that reads untrusted input.

Run one target: ``python -m tests.reliability.atheris_targets TARGET -runs=N`` (any libFuzzer
flag works: ``-max_total_time=S``, a corpus directory, ...). Each target fails (the process
exits non-zero with the input that broke it) when an exception other than the documented one
escapes:

- ``review``: ``webhook.admission.wire.parse_review`` over any bytes → a request or ``BadReview``;
  a parsed request then goes through the engine (``review_request``) with no cluster;
- ``policy``: ``webhook.policy.loader.load_policy_text`` over any bytes → a ``Policy`` or
  ``PolicyError``;
- ``normalize``: ``apply_api_defaults``/``normalise_network_policy``/``check_network_policy``
  over any JSON, and ``parse_cidr``/``glob_match`` over any text: never raise.

tests/reliability/test_atheris.py runs each target for a bounded number of inputs when atheris
is installed (``pip install atheris``); it is not a dependency of the project.
"""

from __future__ import annotations

import json
import sys
from collections.abc import Callable

import atheris
import jsonschema  # noqa: F401 - third-party modules imported first are not instrumented
import prometheus_client  # noqa: F401
import yaml  # noqa: F401

with atheris.instrument_imports(include=["webhook"]):
    from webhook.admission.request import UserInfo
    from webhook.admission.wire import BadReview, parse_review
    from webhook.engine.apidefaults import apply_api_defaults
    from webhook.engine.cidr import parse_cidr
    from webhook.engine.networkpolicy import check_network_policy
    from webhook.engine.normalize import normalise_network_policy
    from webhook.policy.globmatch import glob_match
    from webhook.policy.loader import PolicyError, default_policy, load_policy_text
    from webhook.serving.review import review_request

POLICY = default_policy()


def review_target(data: bytes) -> None:
    try:
        _, request = parse_review(data)
    except BadReview:
        return
    review_request(request, POLICY, None)


def policy_target(data: bytes) -> None:
    try:
        load_policy_text(data)
    except PolicyError:
        return


def normalize_target(data: bytes) -> None:
    provider = atheris.FuzzedDataProvider(data)
    text = provider.ConsumeUnicodeNoSurrogates(64)
    parse_cidr(text)
    glob_match(provider.ConsumeUnicodeNoSurrogates(16), text)
    try:
        obj = json.loads(provider.ConsumeUnicodeNoSurrogates(4096))
    except (ValueError, RecursionError):
        return
    apply_api_defaults(obj)
    normalise_network_policy(obj)
    if isinstance(obj, dict):
        check_network_policy(obj, POLICY, UserInfo())
        check_network_policy({"kind": "NetworkPolicy", "metadata": {}, "spec": obj}, POLICY,
                             UserInfo())


TARGETS: dict[str, Callable[[bytes], None]] = {
    "review": review_target,
    "policy": policy_target,
    "normalize": normalize_target,
}


def main() -> None:
    name = sys.argv[1]
    atheris.Setup([sys.argv[0], *sys.argv[2:]], TARGETS[name])
    atheris.Fuzz()


if __name__ == "__main__":
    main()
