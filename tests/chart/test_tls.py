"""The serving certificate in both modes: Helm-generated (self-signed CA) and cert-manager."""

from __future__ import annotations

import base64
import datetime

import helm_python as helm
import yaml
from cryptography import x509
from cryptography.hazmat.primitives.asymmetric import ec, padding, rsa
from cryptography.hazmat.primitives.serialization import load_pem_private_key
from cryptography.x509.oid import ExtendedKeyUsageOID

from tests.chart.rendering import (
    NAMESPACE,
    RELEASE,
    Rendered,
    chart_handle,
    render_chart,
    render_scenario,
)
from tests.kubeapi_double import KubeAPIDouble

HELM_TOKEN = "test"


def service_dns_names(rendered: Rendered, namespace: str = NAMESPACE) -> set[str]:
    service = rendered.one("Service")["metadata"]["name"]
    return {f"{service}.{namespace}.svc", f"{service}.{namespace}.svc.cluster.local"}


def tls_secret(rendered: Rendered) -> tuple[x509.Certificate, bytes, x509.Certificate]:
    secret = rendered.one("Secret")
    assert secret["type"] == "kubernetes.io/tls"
    data = {key: base64.b64decode(value) for key, value in secret["data"].items()}
    return (x509.load_pem_x509_certificate(data["tls.crt"]), data["tls.key"],
            x509.load_pem_x509_certificate(data["ca.crt"]))


def verify_signed_by(cert: x509.Certificate, ca: x509.Certificate) -> None:
    key = ca.public_key()
    assert cert.signature_hash_algorithm is not None
    if isinstance(key, ec.EllipticCurvePublicKey):
        key.verify(cert.signature, cert.tbs_certificate_bytes,
                   ec.ECDSA(cert.signature_hash_algorithm))
    else:
        assert isinstance(key, rsa.RSAPublicKey)
        key.verify(cert.signature, cert.tbs_certificate_bytes, padding.PKCS1v15(),
                   cert.signature_hash_algorithm)


def test_self_signed_certificate_names_the_service(default_render: Rendered) -> None:
    cert, _, ca = tls_secret(default_render)
    sans = set(cert.extensions.get_extension_for_class(
        x509.SubjectAlternativeName).value.get_values_for_type(x509.DNSName))
    assert sans == service_dns_names(default_render)
    assert ExtendedKeyUsageOID.SERVER_AUTH in cert.extensions.get_extension_for_class(
        x509.ExtendedKeyUsage).value
    verify_signed_by(cert, ca)
    assert ca.extensions.get_extension_for_class(x509.BasicConstraints).value.ca is True
    assert cert.not_valid_after_utc > datetime.datetime.now(datetime.UTC) + datetime.timedelta(
        days=365)


def test_self_signed_certificate_follows_the_release_namespace() -> None:
    rendered = render_chart({}, namespace="security-tools")
    cert, _, _ = tls_secret(rendered)
    sans = set(cert.extensions.get_extension_for_class(
        x509.SubjectAlternativeName).value.get_values_for_type(x509.DNSName))
    assert sans == service_dns_names(rendered, "security-tools")


def test_key_matches_the_certificate(default_render: Rendered) -> None:
    cert, key_pem, _ = tls_secret(default_render)
    key = load_pem_private_key(key_pem, password=None)
    assert key.public_key().public_numbers() == cert.public_key().public_numbers()


def test_ca_bundle_is_the_ca_that_signed_the_secret(default_render: Rendered) -> None:
    _, _, ca = tls_secret(default_render)
    secret_ca = default_render.one("Secret")["data"]["ca.crt"]
    for name, hook in default_render.webhooks().items():
        assert hook["clientConfig"]["caBundle"] == secret_ca, name
    assert "annotations" not in default_render.one("ValidatingWebhookConfiguration")["metadata"]
    assert ca.subject == ca.issuer


def test_deployment_mounts_the_secret_the_chart_writes(default_render: Rendered) -> None:
    volumes = default_render.one("Deployment")["spec"]["template"]["spec"]["volumes"]
    [tls] = [volume for volume in volumes if volume["name"] == "tls"]
    assert tls["secret"]["secretName"] == default_render.one("Secret")["metadata"]["name"]


def test_cert_manager_issues_the_certificate_and_injects_the_ca() -> None:
    rendered = render_scenario("cert-manager")
    assert rendered.of_kind("Secret") == []
    certificate = rendered.one("Certificate", "netpol-guard-tls")
    spec = certificate["spec"]
    assert set(spec["dnsNames"]) == service_dns_names(rendered)
    assert spec["secretName"] == "netpol-guard-tls"
    assert "server auth" in spec["usages"]
    config = rendered.one("ValidatingWebhookConfiguration")
    assert config["metadata"]["annotations"]["cert-manager.io/inject-ca-from"] == (
        f"{NAMESPACE}/{certificate['metadata']['name']}")
    for hook in config["webhooks"]:
        assert "caBundle" not in hook["clientConfig"]
    # The chart-made chain: self-signed Issuer -> CA Certificate -> CA Issuer -> serving cert.
    issuers = {issuer["metadata"]["name"]: issuer["spec"] for issuer in rendered.of_kind("Issuer")}
    assert issuers["netpol-guard-selfsigned"] == {"selfSigned": {}}
    ca = rendered.one("Certificate", "netpol-guard-ca")["spec"]
    assert ca["isCA"] is True
    assert ca["issuerRef"]["name"] == "netpol-guard-selfsigned"
    assert issuers["netpol-guard-ca"] == {"ca": {"secretName": ca["secretName"]}}
    assert spec["issuerRef"] == {"name": "netpol-guard-ca", "kind": "Issuer",
                                 "group": "cert-manager.io"}
    volumes = rendered.one("Deployment")["spec"]["template"]["spec"]["volumes"]
    assert {"name": "tls", "secret": {"secretName": "netpol-guard-tls", "defaultMode": 0o444}} in (
        volumes)


def test_cert_manager_with_the_platform_issuer_renders_only_the_certificate() -> None:
    rendered = render_scenario("cert-manager-cluster-issuer")
    assert rendered.of_kind("Issuer") == []
    certificate = rendered.one("Certificate")
    assert certificate["spec"]["issuerRef"] == {
        "name": "platform-ca", "kind": "ClusterIssuer", "group": "cert-manager.io"}
    assert certificate["spec"]["duration"] == "720h"


def dry_run_install(fake: KubeAPIDouble, values: dict | None = None) -> Rendered:
    """`helm install --dry-run=server` against the fake API server: `lookup` sees its Secrets."""
    with helm.Config(kube_apiserver=fake.url, kube_token=HELM_TOKEN, namespace=NAMESPACE,
                     storage_driver="memory") as config:
        release = config.install(chart_handle(), RELEASE, values or {}, namespace=NAMESPACE,
                                 dry_run="server")
    objects = tuple(obj for obj in yaml.safe_load_all(release["manifest"]) if obj)
    return Rendered(objects, release.get("notes", ""), tuple(("", obj) for obj in objects))


def installed_secret(name: str, data: dict[str, str]) -> dict:
    """The Secret as a previous `helm install` left it (with Helm's ownership metadata)."""
    return {"apiVersion": "v1", "kind": "Secret", "type": "kubernetes.io/tls",
            "metadata": {"name": name, "namespace": NAMESPACE,
                         "labels": {"app.kubernetes.io/managed-by": "Helm"},
                         "annotations": {"meta.helm.sh/release-name": RELEASE,
                                         "meta.helm.sh/release-namespace": NAMESPACE}},
            "data": data}


def test_upgrade_keeps_the_existing_certificate() -> None:
    """On a cluster, `lookup` finds the Secret of the previous install and the chart reuses it,
    so the pods and the API server keep trusting the same CA."""
    previous = render_chart({}).one("Secret")
    fake = KubeAPIDouble(token=None)  # the reachability check sends no token
    name = previous["metadata"]["name"]
    fake.create(installed_secret(name, previous["data"]))
    with fake.running():
        rendered = dry_run_install(fake)
    assert rendered.one("Secret")["data"] == previous["data"]
    for hook in rendered.webhooks().values():
        assert hook["clientConfig"]["caBundle"] == previous["data"]["ca.crt"]
    assert fake.writes == []


def test_install_without_a_usable_secret_generates_a_new_pair() -> None:
    previous = render_chart({}).one("Secret")
    fake = KubeAPIDouble(token=None)  # the reachability check sends no token
    incomplete = {key: value for key, value in previous["data"].items() if key != "ca.crt"}
    name = previous["metadata"]["name"]
    fake.create(installed_secret(name, incomplete))
    with fake.running():
        rendered = dry_run_install(fake)
    secret = rendered.one("Secret")["data"]
    assert secret["tls.crt"] != previous["data"]["tls.crt"]
    cert, _, ca = tls_secret(rendered)
    verify_signed_by(cert, ca)
    for hook in rendered.webhooks().values():
        assert hook["clientConfig"]["caBundle"] == secret["ca.crt"]
