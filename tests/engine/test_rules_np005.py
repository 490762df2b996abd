"""NP005 world-cidr: an ipBlock is /0 after normalising; except does not make it narrow."""

from __future__ import annotations

from typing import Any

import pytest

from tests.engine.npcases import corpus_object, fired, netpol, paths, review_object


def egress_to(*cidrs: str, excepts: list[str] | None = None) -> dict[str, Any]:
    blocks = [{"ipBlock": {"cidr": c, **({"except": excepts} if excepts else {})}} for c in cidrs]
    return netpol({"policyTypes": ["Egress"],
                   "egress": [{"to": blocks, "ports": [{"port": 443}]}]})


@pytest.mark.parametrize(("obj", "expected"), [
    pytest.param(review_object("networkpolicy-create-egress-world-cidr"),
                 ["spec.egress[0].to[0].ipBlock.cidr"], id="egress to 0.0.0.0/0 is denied"),
    pytest.param(corpus_object("030-cidr-v4-world"), ["spec.ingress[0].from[0].ipBlock.cidr"],
                 id="ingress from 0.0.0.0/0 is denied"),
    pytest.param(corpus_object("034-cidr-v6-world"), ["spec.ingress[0].from[0].ipBlock.cidr"],
                 id="::/0 is denied"),
    pytest.param(corpus_object("036-cidr-v6-world-long"),
                 ["spec.ingress[0].from[0].ipBlock.cidr"], id="uncompressed IPv6 world is denied"),
    pytest.param(corpus_object("051-egress-world-minus-metadata"),
                 ["spec.egress[0].to[0].ipBlock.cidr"],
                 id="world minus an except is still the world"),
    pytest.param(review_object("networkpolicy-update-ratcheted-noncanonical-cidrs"),
                 ["spec.ingress[0].from[0].ipBlock.cidr", "spec.ingress[0].from[1].ipBlock.cidr"],
                 id="ratcheted 0.0.0.0/00 and ::ffff:0.0.0.0/96 are denied"),
    pytest.param(egress_to("10.0.0.0/8", "::/00"), ["spec.egress[0].to[1].ipBlock.cidr"],
                 id="the world is found among other blocks"),
    pytest.param(egress_to("255.255.255.255/0"), ["spec.egress[0].to[0].ipBlock.cidr"],
                 id="host bits on a /0 are still the world"),
    pytest.param(review_object("networkpolicy-create-ipblock-except"), [],
                 id="a private /8 is not the world"),
    pytest.param(egress_to("::ffff:0:0/95"), [],
                 id="an IPv6 /95 is not the world"),
    pytest.param(egress_to("not-a-cidr"), [], id="an unparseable CIDR is not the world"),
])
def test_np005(obj: dict[str, Any], expected: list[str]) -> None:
    assert paths(fired(obj, "NP005")) == expected


def test_np005_message_shows_the_odd_spelling_and_what_it_means() -> None:
    (violation,) = fired(egress_to("::ffff:0.0.0.0/96"), "NP005")
    assert violation.message.startswith(
        'spec.egress[0].to[0].ipBlock.cidr is "::ffff:0.0.0.0/96" (that is 0.0.0.0/0), '
        "every IPv4 address")
    assert violation.message.endswith("List the address ranges that need access.")


def test_np005_message_says_except_does_not_help() -> None:
    (violation,) = fired(egress_to("0.0.0.0/0", excepts=["10.0.0.0/8"]), "NP005")
    assert '"except" only carves holes' in violation.message
