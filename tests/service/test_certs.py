"""Dev certificates: a CA and a serving certificate with the SANs the API server dials."""

from __future__ import annotations

import ipaddress
import stat
from pathlib import Path

from cryptography import x509

from webhook.cli.certs import write_dev_certificates
from webhook.cli.main import main


def _sans(path: Path) -> tuple[list[str], list[str]]:
    cert = x509.load_pem_x509_certificate(path.read_bytes())
    names = cert.extensions.get_extension_for_class(x509.SubjectAlternativeName).value
    return (names.get_values_for_type(x509.DNSName),
            [str(ip) for ip in names.get_values_for_type(x509.IPAddress)])


def test_serving_certificate_has_loopback_and_service_sans(tmp_path: Path) -> None:
    paths = write_dev_certificates(tmp_path, service="guard", namespace="sec")

    dns, ips = _sans(paths.cert)

    assert {"localhost", "guard.sec.svc", "guard.sec.svc.cluster.local"} <= set(dns)
    assert ipaddress.ip_address("127.0.0.1") in map(ipaddress.ip_address, ips)


def test_serving_certificate_is_signed_by_the_ca(tmp_path: Path) -> None:
    paths = write_dev_certificates(tmp_path)
    ca = x509.load_pem_x509_certificate(paths.ca_cert.read_bytes())
    cert = x509.load_pem_x509_certificate(paths.cert.read_bytes())

    cert.verify_directly_issued_by(ca)
    assert ca.extensions.get_extension_for_class(x509.BasicConstraints).value.ca is True


def test_keys_are_private(tmp_path: Path) -> None:
    paths = write_dev_certificates(tmp_path)

    for key in (paths.key, paths.ca_key):
        assert stat.S_IMODE(key.stat().st_mode) == 0o600


def test_certs_command_keeps_existing_files_unless_forced(tmp_path: Path) -> None:
    assert main(["certs", "--out", str(tmp_path)]) == 0
    first = (tmp_path / "tls.crt").read_bytes()

    assert main(["certs", "--out", str(tmp_path)]) == 0
    assert (tmp_path / "tls.crt").read_bytes() == first
    assert main(["certs", "--out", str(tmp_path), "--force"]) == 0
    assert (tmp_path / "tls.crt").read_bytes() != first
