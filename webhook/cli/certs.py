"""``netpol-guard certs``: a development CA and a serving certificate signed by it.

For local runs and tests only; in a cluster the Helm chart (or cert-manager) makes them.
SANs cover 127.0.0.1, ::1, localhost and the in-cluster Service names the API server dials.
"""

from __future__ import annotations

import argparse
import datetime
import ipaddress
import os
import sys
from dataclasses import dataclass
from pathlib import Path


@dataclass(frozen=True)
class CertPaths:
    ca_cert: Path
    ca_key: Path
    cert: Path
    key: Path


def add_arguments(parser: argparse.ArgumentParser) -> None:
    parser.add_argument("--out", default="certs", help="directory to write to (default certs)")
    # Defaults applied in run(): a flag given for certificates that are kept is refused.
    parser.add_argument("--service", default=None,
                        help=f"Service name for the SANs (default {DEFAULT_SERVICE})")
    parser.add_argument("--namespace", default=None,
                        help=f"Service namespace (default {DEFAULT_NAMESPACE})")
    parser.add_argument("--days", type=int, default=None,
                        help=f"validity in days (default {DEFAULT_DAYS})")
    parser.add_argument("--force", action="store_true", help="overwrite existing files")


DEFAULT_SERVICE = "netpol-guard"
DEFAULT_NAMESPACE = "netpol-guard"
DEFAULT_DAYS = 365


def run(args: argparse.Namespace) -> int:
    paths = paths_in(Path(args.out))
    if paths.cert.exists() and not args.force:
        shaping = [flag for flag, value in (("--service", args.service),
                                            ("--namespace", args.namespace),
                                            ("--days", args.days)) if value is not None]
        if shaping:
            # Keeping the files would silently ignore what was asked for.
            print(f"netpol-guard certs: {paths.cert} exists and {', '.join(shaping)} only shape "
                  "a new certificate: add --force to replace it", file=sys.stderr)
            return 2
        print(f"{paths.cert} exists; keeping it (use --force to replace)")
        return 0
    write_dev_certificates(Path(args.out), service=args.service or DEFAULT_SERVICE,
                           namespace=args.namespace or DEFAULT_NAMESPACE,
                           days=args.days if args.days is not None else DEFAULT_DAYS)
    print(f"wrote {paths.ca_cert}, {paths.cert} and {paths.key}")
    return 0


def paths_in(directory: Path) -> CertPaths:
    return CertPaths(directory / "ca.crt", directory / "ca.key",
                     directory / "tls.crt", directory / "tls.key")


def dns_names(service: str, namespace: str) -> list[str]:
    """The DNS SANs: localhost and every name the API server may use for the Service."""
    return ["localhost", service, f"{service}.{namespace}", f"{service}.{namespace}.svc",
            f"{service}.{namespace}.svc.cluster.local"]


def write_dev_certificates(directory: Path, *, service: str = "netpol-guard",
                           namespace: str = "netpol-guard", days: int = 365,
                           ca: tuple[bytes, bytes] | None = None) -> CertPaths:
    """Write a CA (or reuse ``ca`` = (cert PEM, key PEM)) and a serving cert/key under
    ``directory``; keys are written 0600."""
    from cryptography import x509
    from cryptography.hazmat.primitives import hashes, serialization
    from cryptography.hazmat.primitives.asymmetric import ec
    from cryptography.x509.oid import ExtendedKeyUsageOID, NameOID

    directory.mkdir(parents=True, exist_ok=True)
    paths = paths_in(directory)
    now = datetime.datetime.now(datetime.UTC)
    not_before = now - datetime.timedelta(minutes=5)
    not_after = now + datetime.timedelta(days=days)

    if ca is None:
        ca_key = ec.generate_private_key(ec.SECP256R1())
        ca_name = x509.Name([x509.NameAttribute(NameOID.COMMON_NAME, "netpol-guard dev CA")])
        ca_cert = (
            x509.CertificateBuilder()
            .subject_name(ca_name).issuer_name(ca_name)
            .public_key(ca_key.public_key())
            .serial_number(x509.random_serial_number())
            .not_valid_before(not_before).not_valid_after(not_after)
            .add_extension(x509.BasicConstraints(ca=True, path_length=0), critical=True)
            .add_extension(x509.KeyUsage(digital_signature=True, key_cert_sign=True,
                                         crl_sign=True, content_commitment=False,
                                         key_encipherment=False, data_encipherment=False,
                                         key_agreement=False, encipher_only=False,
                                         decipher_only=False), critical=True)
            .add_extension(x509.SubjectKeyIdentifier.from_public_key(ca_key.public_key()),
                           critical=False)
            .sign(ca_key, hashes.SHA256())
        )
    else:
        ca_cert = x509.load_pem_x509_certificate(ca[0])
        loaded = serialization.load_pem_private_key(ca[1], password=None)
        assert isinstance(loaded, ec.EllipticCurvePrivateKey)
        ca_key = loaded

    key = ec.generate_private_key(ec.SECP256R1())
    sans: list[x509.GeneralName] = [x509.DNSName(name) for name in dns_names(service,
                                                                             namespace)]
    sans += [x509.IPAddress(ipaddress.ip_address("127.0.0.1")),
             x509.IPAddress(ipaddress.ip_address("::1"))]
    cert = (
        x509.CertificateBuilder()
        .subject_name(x509.Name([x509.NameAttribute(
            NameOID.COMMON_NAME, f"{service}.{namespace}.svc")]))
        .issuer_name(ca_cert.subject)
        .public_key(key.public_key())
        .serial_number(x509.random_serial_number())
        .not_valid_before(not_before).not_valid_after(not_after)
        .add_extension(x509.SubjectAlternativeName(sans), critical=False)
        .add_extension(x509.BasicConstraints(ca=False, path_length=None), critical=True)
        .add_extension(x509.ExtendedKeyUsage([ExtendedKeyUsageOID.SERVER_AUTH,
                                              ExtendedKeyUsageOID.CLIENT_AUTH]),
                       critical=False)
        .add_extension(x509.AuthorityKeyIdentifier.from_issuer_public_key(
            ca_key.public_key()), critical=False)
        .sign(ca_key, hashes.SHA256())
    )

    def pem_key(private: ec.EllipticCurvePrivateKey) -> bytes:
        return private.private_bytes(serialization.Encoding.PEM,
                                     serialization.PrivateFormat.PKCS8,
                                     serialization.NoEncryption())

    _write(paths.ca_cert, ca_cert.public_bytes(serialization.Encoding.PEM), 0o644)
    _write(paths.ca_key, pem_key(ca_key), 0o600)
    # Key first, then certificate, each replaced atomically: a reader never sees half a file.
    _write(paths.key, pem_key(key), 0o600)
    _write(paths.cert, cert.public_bytes(serialization.Encoding.PEM), 0o644)
    return paths


def _write(path: Path, data: bytes, mode: int) -> None:
    tmp = path.with_name(f".{path.name}.tmp")
    fd = os.open(tmp, os.O_WRONLY | os.O_CREAT | os.O_TRUNC, mode)
    with os.fdopen(fd, "wb") as handle:
        handle.write(data)
    os.replace(tmp, path)
