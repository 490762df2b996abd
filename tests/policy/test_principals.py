"""Who and which namespaces an exemption covers: exact names and globs, users, groups and
service accounts (``Principals.includes``, ``Exemptions.covers``)."""

from __future__ import annotations

import dataclasses

import pytest

from webhook.admission.request import UserInfo
from webhook.policy.model import Exemptions, Principals

PLATFORM = Principals(users=("alice", "ops-*"), groups=("platform",),
                      service_accounts=("argocd/*", "flux-system/kustomize-controller"))

ALICE = UserInfo("alice")
OPS_BOB = UserInfo("ops-bob")
CAROL_IN_PLATFORM = UserInfo("carol", ("system:authenticated", "platform"))
DAVE = UserInfo("dave", ("system:authenticated",))
ARGOCD = UserInfo("system:serviceaccount:argocd:application-controller")
FLUX = UserInfo("system:serviceaccount:flux-system:kustomize-controller")
FLUX_OTHER = UserInfo("system:serviceaccount:flux-system:helm-controller")
USER_NAMED_LIKE_AN_ACCOUNT = UserInfo("argocd/application-controller")


@pytest.mark.parametrize(("user", "included"), [
    pytest.param(ALICE, True, id="user by exact name"),
    pytest.param(OPS_BOB, True, id="user by glob"),
    pytest.param(CAROL_IN_PLATFORM, True, id="by one of the groups"),
    pytest.param(DAVE, False, id="neither user nor group"),
    pytest.param(ARGOCD, True, id="service account by namespace glob"),
    pytest.param(FLUX, True, id="service account by exact name"),
    pytest.param(FLUX_OTHER, False, id="other service account of a listed namespace"),
    pytest.param(USER_NAMED_LIKE_AN_ACCOUNT, False,
                 id="a plain user whose name looks like an account is not one"),
])
def test_principals_include(user: UserInfo, included: bool) -> None:
    assert PLATFORM.includes(user) is included


def test_no_principals_include_nobody() -> None:
    assert not Principals()
    assert not Principals().includes(ALICE)
    assert not Principals().includes(ARGOCD)


@pytest.mark.parametrize(("namespace", "user", "covered"), [
    pytest.param("kube-system", DAVE, True, id="namespace by exact name"),
    pytest.param("team-a-sandbox", DAVE, True, id="namespace by glob"),
    pytest.param("team-a", DAVE, False, id="a namespace the glob does not match"),
    pytest.param("team-a", ALICE, True, id="any namespace for an exempt principal"),
    pytest.param("", DAVE, False, id="cluster-scoped request"),
])
def test_exemptions_cover(namespace: str, user: UserInfo, covered: bool) -> None:
    exemptions = Exemptions(namespaces=("kube-system", "*-sandbox"), principals=PLATFORM)
    assert exemptions.covers(namespace, user) is covered
    assert exemptions.covers_namespace(namespace) is (covered and user is DAVE)


def test_prepared_patterns_follow_the_fields() -> None:
    # The matchers are derived from the fields: equal values, equal exemptions, and
    # dataclasses.replace() prepares the new patterns.
    assert Exemptions(namespaces=("a", "b*")) == Exemptions(namespaces=("a", "b*"))
    replaced = dataclasses.replace(Exemptions(namespaces=("a",)), namespaces=("b*",))
    assert replaced.covers_namespace("bee") and not replaced.covers_namespace("a")
