"""The simulator's development PKI: a CA, a server certificate and client certificates.

On first start the simulator creates ``tls/ca.pem`` and a server certificate for localhost in its
state folder. Clients trust ``ca.pem``; ``idocbridge sim issue-cert NAME`` signs client certificates
for logon by X.509. Keys are written readable by the owner only. For development and tests only.
"""

from __future__ import annotations

import datetime as dt
import ipaddress
import os
import ssl
from dataclasses import dataclass
from pathlib import Path

from cryptography import x509
from cryptography.hazmat.primitives import hashes, serialization
from cryptography.hazmat.primitives.asymmetric import ec
from cryptography.x509.oid import ExtendedKeyUsageOID, NameOID

__all__ = ["DevelopmentPki", "ensure_pki", "issue_client_certificate", "server_context"]

_VALID_DAYS = 825


@dataclass(frozen=True)
class DevelopmentPki:
    """Paths of the simulator's CA and server certificate."""

    ca_certificate: Path
    ca_key: Path
    server_certificate: Path
    server_key: Path


def _name(common_name: str) -> x509.Name:
    return x509.Name(
        [
            x509.NameAttribute(NameOID.ORGANIZATION_NAME, "idocbridge simulator"),
            x509.NameAttribute(NameOID.COMMON_NAME, common_name),
        ]
    )


def _write_key(path: Path, key: ec.EllipticCurvePrivateKey) -> None:
    data = key.private_bytes(
        serialization.Encoding.PEM, serialization.PrivateFormat.PKCS8, serialization.NoEncryption()
    )
    descriptor = os.open(path, os.O_WRONLY | os.O_CREAT | os.O_TRUNC, 0o600)
    with os.fdopen(descriptor, "wb") as handle:
        handle.write(data)


def _load(cert_path: Path, key_path: Path) -> tuple[x509.Certificate, ec.EllipticCurvePrivateKey]:
    certificate = x509.load_pem_x509_certificate(cert_path.read_bytes())
    key = serialization.load_pem_private_key(key_path.read_bytes(), password=None)
    if not isinstance(key, ec.EllipticCurvePrivateKey):
        raise ValueError(f"{key_path} is not an EC key")
    return certificate, key


def _sign(
    subject: str,
    public_key: ec.EllipticCurvePublicKey,
    issuer: tuple[x509.Certificate, ec.EllipticCurvePrivateKey] | None,
    signer: ec.EllipticCurvePrivateKey,
    *,
    ca: bool = False,
    hosts: tuple[str, ...] = (),
    client: bool = False,
) -> x509.Certificate:
    now = dt.datetime.now(dt.UTC)
    builder = (
        x509.CertificateBuilder()
        .subject_name(_name(subject))
        .issuer_name(issuer[0].subject if issuer else _name(subject))
        .public_key(public_key)
        .serial_number(x509.random_serial_number())
        .not_valid_before(now - dt.timedelta(minutes=5))
        .not_valid_after(now + dt.timedelta(days=3650 if ca else _VALID_DAYS))
        .add_extension(x509.BasicConstraints(ca=ca, path_length=0 if ca else None), critical=True)
        .add_extension(x509.SubjectKeyIdentifier.from_public_key(public_key), critical=False)
        .add_extension(x509.AuthorityKeyIdentifier.from_issuer_public_key(signer.public_key()), critical=False)
    )
    # Strict verifiers (Python 3.13's default context: VERIFY_X509_STRICT) want both key identifiers
    # and a key usage on every certificate.
    if ca:
        usage = x509.KeyUsage(False, False, False, False, False, True, True, False, False)
    else:
        usage = x509.KeyUsage(True, False, False, False, False, False, False, False, False)
    builder = builder.add_extension(usage, critical=True)
    if hosts:
        names: list[x509.GeneralName] = []
        for host in hosts:
            try:
                names.append(x509.IPAddress(ipaddress.ip_address(host)))
            except ValueError:
                names.append(x509.DNSName(host))
        builder = builder.add_extension(x509.SubjectAlternativeName(names), critical=False)
        builder = builder.add_extension(x509.ExtendedKeyUsage([ExtendedKeyUsageOID.SERVER_AUTH]), critical=False)
    if client:
        builder = builder.add_extension(x509.ExtendedKeyUsage([ExtendedKeyUsageOID.CLIENT_AUTH]), critical=False)
    return builder.sign(signer, hashes.SHA256())


def _strict(path: Path) -> bool:
    """Whether the certificate at ``path`` carries the key identifiers strict verifiers require."""
    extensions = x509.load_pem_x509_certificate(path.read_bytes()).extensions
    try:
        extensions.get_extension_for_class(x509.SubjectKeyIdentifier)
        extensions.get_extension_for_class(x509.AuthorityKeyIdentifier)
    except x509.ExtensionNotFound:
        return False
    return True


def _pem(certificate: x509.Certificate) -> bytes:
    return certificate.public_bytes(serialization.Encoding.PEM)


def ensure_pki(state: Path, hosts: tuple[str, ...] = ("localhost", "127.0.0.1", "::1")) -> DevelopmentPki:
    """Create the CA and server certificate in ``state/tls`` unless they exist."""
    folder = state / "tls"
    folder.mkdir(parents=True, exist_ok=True)
    pki = DevelopmentPki(folder / "ca.pem", folder / "ca.key", folder / "server.pem", folder / "server.key")
    if pki.ca_certificate.exists() and not _strict(pki.ca_certificate):
        pki.ca_certificate.unlink()  # made by an older release: strict verifiers refuse it, so make it anew
    if not pki.ca_certificate.exists():
        ca_key = ec.generate_private_key(ec.SECP256R1())
        ca_cert = _sign("idocbridge simulator development CA", ca_key.public_key(), None, ca_key, ca=True)
        _write_key(pki.ca_key, ca_key)
        pki.ca_certificate.write_bytes(_pem(ca_cert))
        pki.server_certificate.unlink(missing_ok=True)
    if not pki.server_certificate.exists():
        issuer = _load(pki.ca_certificate, pki.ca_key)
        key = ec.generate_private_key(ec.SECP256R1())
        certificate = _sign(hosts[0], key.public_key(), issuer, issuer[1], hosts=hosts)
        _write_key(pki.server_key, key)
        pki.server_certificate.write_bytes(_pem(certificate))
    return pki


def issue_client_certificate(pki: DevelopmentPki, common_name: str, directory: Path) -> tuple[Path, Path]:
    """Sign a client certificate for X.509 logon; return the certificate and key paths."""
    issuer = _load(pki.ca_certificate, pki.ca_key)
    key = ec.generate_private_key(ec.SECP256R1())
    certificate = _sign(common_name, key.public_key(), issuer, issuer[1], client=True)
    directory.mkdir(parents=True, exist_ok=True)
    cert_path, key_path = directory / f"{common_name}.pem", directory / f"{common_name}.key"
    cert_path.write_bytes(_pem(certificate))
    _write_key(key_path, key)
    return cert_path, key_path


def server_context(pki: DevelopmentPki) -> ssl.SSLContext:
    """TLS 1.2 or later; asks for (but does not demand) a client certificate signed by the CA."""
    context = ssl.SSLContext(ssl.PROTOCOL_TLS_SERVER)
    context.minimum_version = ssl.TLSVersion.TLSv1_2
    context.load_cert_chain(pki.server_certificate, pki.server_key)
    context.load_verify_locations(pki.ca_certificate)
    context.verify_mode = ssl.CERT_OPTIONAL
    # No TLS 1.3 session tickets: with them, a client that sends its HTTP upgrade request right after
    # the handshake occasionally stalls until the server's handshake timeout (about 1 in 250
    # connections under concurrency with asyncio's TLS transport here). Nothing needs resumption.
    context.num_tickets = 0
    return context
