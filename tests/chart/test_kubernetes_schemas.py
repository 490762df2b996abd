"""Every ci/ scenario, rendered for each supported Kubernetes version, passes kubernetes-validate
in strict mode (unknown fields refused) against that version's OpenAPI schemas."""

from __future__ import annotations

import functools

import kubernetes_validate
import kubernetes_validate.utils as kv_utils
import pytest

from tests.chart.rendering import KUBE_VERSIONS, SCENARIOS, prefetch, render_scenario

# cert-manager's CRDs are not Kubernetes built-ins, so kubernetes-validate has no schema for them;
# test_tls.py checks their fields instead.
NOT_BUILT_IN = {
    ("cert-manager.io/v1", "Issuer"): "cert-manager CRD: no schema in kubernetes-validate",
    ("cert-manager.io/v1", "Certificate"): "cert-manager CRD: no schema in kubernetes-validate",
}

# kubernetes-validate re-reads (and re-parses) its multi-megabyte JSON schema files on every call;
# memoise the reads so ~1,000 validations stay within the suite's time budget. The schemas are
# returned unchanged and jsonschema does not mutate them.
if not hasattr(kv_utils.schema_contents, "cache_info"):
    kv_utils.schema_contents = functools.lru_cache(maxsize=None)(kv_utils.schema_contents)


@pytest.fixture(scope="module", autouse=True)
def _render_the_matrix() -> None:
    prefetch(SCENARIOS, KUBE_VERSIONS)


def test_every_supported_version_has_schemas() -> None:
    shipped = {".".join(v.split(".")[:2]) for v in kv_utils.all_versions()}
    missing = [version for version in KUBE_VERSIONS if version not in shipped]
    assert not missing, f"kubernetes-validate {kubernetes_validate.__version__} lacks {missing}"


@pytest.mark.parametrize("kube_version", KUBE_VERSIONS)
@pytest.mark.parametrize("scenario", SCENARIOS)
def test_rendered_manifests_are_valid_kubernetes(scenario: str, kube_version: str) -> None:
    rendered = render_scenario(scenario, kube_version)
    assert rendered.objects, "the chart rendered nothing"
    failures = []
    checked = 0
    for path, obj in rendered.sources:
        if (obj["apiVersion"], obj["kind"]) in NOT_BUILT_IN:
            continue
        try:
            validated = kubernetes_validate.validate(obj, kube_version, strict=True)
        except kubernetes_validate.ValidationError as error:
            where = ".".join(str(part) for part in error.path)
            failures.append(f"{path}: {obj['kind']}/{obj['metadata']['name']}: {where}: "
                            f"{error.message}")
            continue
        except kubernetes_validate.SchemaNotFoundError as error:
            failures.append(f"{path}: {error.message}")
            continue
        assert validated == kube_version, "validated against another version's schema"
        checked += 1
    assert not failures, "\n".join(failures)
    assert checked >= 8, f"only {checked} objects validated"


def test_strict_validation_catches_an_unknown_field() -> None:
    """The check above can fail: an unknown field in a rendered object is refused."""
    deployment = dict(render_scenario("default").one("Deployment"))
    deployment["spec"] = {**deployment["spec"], "replica": 3}
    with pytest.raises(kubernetes_validate.ValidationError):
        kubernetes_validate.validate(deployment, KUBE_VERSIONS[-1], strict=True)
