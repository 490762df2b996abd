"""NP011 named-port: a port given by name cannot be checked statically."""

from __future__ import annotations

from typing import Any

import pytest

from tests.engine.npcases import check, corpus_object, fired, netpol, paths, review_object

FROM_APP = [{"podSelector": {"matchLabels": {"app": "frontend"}}}]


@pytest.mark.parametrize(("obj", "expected"), [
    pytest.param(review_object("networkpolicy-create-named-port"),
                 ["spec.ingress[0].ports[0].port"], id="a named port is reported"),
    pytest.param(corpus_object("063-named-port-http"), ["spec.ingress[0].ports[0].port"],
                 id="a named port stored by the API server is reported"),
    pytest.param(netpol({"ingress": [{"from": FROM_APP, "ports": [
        {"port": 80}, {"port": "metrics", "protocol": "TCP"}]}]}),
                 ["spec.ingress[0].ports[1].port"], id="only the named entry is reported"),
    pytest.param(review_object("networkpolicy-create-apply-allow-frontend"), [],
                 id="a numbered port is allowed"),
    pytest.param(corpus_object("073-protocol-only-udp"), [],
                 id="a port entry without a port is not named"),
])
def test_np011(obj: dict[str, Any], expected: list[str]) -> None:
    assert paths(fired(obj, "NP011")) == expected


def test_np011_warns_by_default_and_names_the_port() -> None:
    (violation,) = [v for v in check(review_object("networkpolicy-create-named-port"))
                    if v.rule_id == "NP011"]
    assert violation.action.value == "warn"
    assert '"http"' in violation.message and violation.message.endswith("Use the port number.")
    assert len(violation.warning()) <= 120
