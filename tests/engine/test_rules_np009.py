"""NP009 all-ports-of-protocol: a port entry has a protocol but no port."""

from __future__ import annotations

from typing import Any

import pytest

from tests.engine.npcases import corpus_object, fired, netpol, paths, review_object

FROM_APP = [{"podSelector": {"matchLabels": {"app": "frontend"}}}]


def ingress_ports(*ports: Any) -> dict[str, Any]:
    return netpol({"podSelector": {"matchLabels": {"app": "api"}},
                   "ingress": [{"from": FROM_APP, "ports": list(ports)}]})


@pytest.mark.parametrize(("obj", "expected", "protocol"), [
    pytest.param(corpus_object("073-protocol-only-udp"), ["spec.ingress[0].ports[0]"], "UDP",
                 id="a protocol with no port opens every port of it"),
    pytest.param(ingress_ports({}), ["spec.ingress[0].ports[0]"], "TCP",
                 id="an empty port entry is every TCP port"),
    pytest.param(ingress_ports({"port": 80}, {"protocol": "SCTP"}, {"protocol": "UDP"}),
                 ["spec.ingress[0].ports[1]", "spec.ingress[0].ports[2]"], "",
                 id="each port entry without a port is reported"),
    pytest.param(review_object("networkpolicy-create-apply-allow-frontend"), [], "",
                 id="a numbered port is allowed"),
    pytest.param(review_object("networkpolicy-create-named-port"), [], "",
                 id="a named port is a port (NP011 reports it)"),
    pytest.param(review_object("networkpolicy-create-allow-all-ingress"), [], "",
                 id="a rule with no ports at all is NP008's"),
])
def test_np009(obj: dict[str, Any], expected: list[str], protocol: str) -> None:
    violations = fired(obj, "NP009")
    assert paths(violations) == expected
    for violation in violations:
        assert f"every {protocol}" in violation.message
        assert violation.message.endswith('Add "port" (and "endPort" for a range).')
