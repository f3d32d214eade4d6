"""A local certificate chain shaped like Apple's, for development and tests.

``ca.pem`` (a self-signed root) → ``wwdr.pem`` (an intermediate standing in
for Apple's WWDR G4) → ``pass-signer.pem`` (standing in for a "Pass Type ID"
certificate, with the pass type id as UID and the team id as OU, as Apple
issues them). Passes signed with it verify with ``openssl smime -verify
-CAfile ca.pem``; a real iPhone refuses them, since it only trusts Apple's root.
"""

import datetime
import os
from dataclasses import dataclass
from pathlib import Path

from cryptography import x509
from cryptography.hazmat.primitives import hashes, serialization
from cryptography.hazmat.primitives.asymmetric import rsa
from cryptography.x509.oid import ExtendedKeyUsageOID, NameOID

DEV_PASS_TYPE_IDENTIFIER = "pass.dev.loyalty.local"
DEV_TEAM_IDENTIFIER = "DEVTEAM001"
# The organization of every certificate of the chain: how a development certificate is told from Apple's.
DEV_ORGANIZATION = "Loyalty development (not Apple)"
RENEW_BEFORE = datetime.timedelta(days=30)


@dataclass(frozen=True)
class DevCertificates:
    directory: Path
    created: bool

    @property
    def ca_cert(self) -> Path:
        return self.directory / "ca.pem"

    @property
    def ca_key(self) -> Path:
        return self.directory / "ca.key"

    @property
    def wwdr_cert(self) -> Path:
        return self.directory / "wwdr.pem"

    @property
    def wwdr_key(self) -> Path:
        return self.directory / "wwdr.key"

    @property
    def signer_cert(self) -> Path:
        return self.directory / "pass-signer.pem"

    @property
    def signer_key(self) -> Path:
        return self.directory / "pass-signer.key"

    def all_paths(self) -> list[Path]:
        return [self.ca_cert, self.ca_key, self.wwdr_cert, self.wwdr_key, self.signer_cert, self.signer_key]


def certificate_is_development(certificate: x509.Certificate) -> bool:
    """Whether ``certificate`` was made here rather than by Apple (no iPhone accepts a pass it signs)."""
    organizations = certificate.subject.get_attributes_for_oid(NameOID.ORGANIZATION_NAME)
    return any(attribute.value == DEV_ORGANIZATION for attribute in organizations)


def _new_key() -> rsa.RSAPrivateKey:
    # Apple's pass certificates are RSA 2048; the stand-ins match.
    return rsa.generate_private_key(public_exponent=65537, key_size=2048)


def _write_key(path: Path, key) -> None:
    data = key.private_bytes(
        serialization.Encoding.PEM, serialization.PrivateFormat.PKCS8, serialization.NoEncryption()
    )
    descriptor = os.open(path, os.O_WRONLY | os.O_CREAT | os.O_TRUNC, 0o600)
    with os.fdopen(descriptor, "wb") as handle:
        handle.write(data)


def _write_cert(path: Path, certificate: x509.Certificate) -> None:
    path.write_bytes(certificate.public_bytes(serialization.Encoding.PEM))


def issue_certificate(
    *,
    subject: x509.Name,
    public_key,
    issuer_cert: x509.Certificate | None,
    issuer_key,
    is_ca: bool,
    path_length: int | None = None,
    days: int = 825,
    extended_key_usages: list | None = None,
    dns_names: list[str] | None = None,
    valid_from: datetime.datetime | None = None,
) -> x509.Certificate:
    """A certificate valid for ``days`` from ``valid_from`` (default: now; tests make expired ones with it)."""
    start = valid_from or datetime.datetime.now(datetime.UTC)
    builder = (
        x509.CertificateBuilder()
        .subject_name(subject)
        .issuer_name(issuer_cert.subject if issuer_cert else subject)
        .public_key(public_key)
        .serial_number(x509.random_serial_number())
        .not_valid_before(start - datetime.timedelta(minutes=5))
        .not_valid_after(start + datetime.timedelta(days=days))
        .add_extension(x509.BasicConstraints(ca=is_ca, path_length=path_length), critical=True)
        .add_extension(x509.SubjectKeyIdentifier.from_public_key(public_key), critical=False)
    )
    if issuer_cert is not None:
        builder = builder.add_extension(
            x509.AuthorityKeyIdentifier.from_issuer_public_key(issuer_cert.public_key()), critical=False
        )
    if is_ca:
        usage = x509.KeyUsage(
            digital_signature=True, content_commitment=False, key_encipherment=False, data_encipherment=False,
            key_agreement=False, key_cert_sign=True, crl_sign=True, encipher_only=False, decipher_only=False,
        )  # fmt: skip
    else:
        usage = x509.KeyUsage(
            digital_signature=True, content_commitment=False, key_encipherment=True, data_encipherment=False,
            key_agreement=False, key_cert_sign=False, crl_sign=False, encipher_only=False, decipher_only=False,
        )  # fmt: skip
    builder = builder.add_extension(usage, critical=True)
    if extended_key_usages:
        builder = builder.add_extension(x509.ExtendedKeyUsage(extended_key_usages), critical=False)
    if dns_names:
        builder = builder.add_extension(
            x509.SubjectAlternativeName([x509.DNSName(name) for name in dns_names]), critical=False
        )
    return builder.sign(issuer_key, hashes.SHA256())


def _is_fresh(certificates: DevCertificates) -> bool:
    if not all(path.exists() for path in certificates.all_paths()):
        return False
    try:
        signer = x509.load_pem_x509_certificate(certificates.signer_cert.read_bytes())
    except ValueError:
        return False
    return signer.not_valid_after_utc - datetime.datetime.now(datetime.UTC) > RENEW_BEFORE


def dev_certs_generate(
    *,
    directory: Path,
    pass_type_identifier: str = DEV_PASS_TYPE_IDENTIFIER,
    team_identifier: str = DEV_TEAM_IDENTIFIER,
    force: bool = False,
) -> DevCertificates:
    """Write the chain into ``directory`` unless a usable one is already there."""
    directory.mkdir(parents=True, exist_ok=True)
    certificates = DevCertificates(directory=directory, created=False)
    if not force and _is_fresh(certificates):
        return certificates

    ca_key = _new_key()
    ca_name = x509.Name(
        [
            x509.NameAttribute(NameOID.COMMON_NAME, "Loyalty Development Root CA"),
            x509.NameAttribute(NameOID.ORGANIZATION_NAME, DEV_ORGANIZATION),
        ]
    )
    ca_cert = issue_certificate(
        subject=ca_name, public_key=ca_key.public_key(), issuer_cert=None, issuer_key=ca_key, is_ca=True, days=3650
    )

    wwdr_key = _new_key()
    wwdr_name = x509.Name(
        [
            x509.NameAttribute(NameOID.COMMON_NAME, "Dev Worldwide Developer Relations Certification Authority"),
            x509.NameAttribute(NameOID.ORGANIZATIONAL_UNIT_NAME, "G4"),
            x509.NameAttribute(NameOID.ORGANIZATION_NAME, DEV_ORGANIZATION),
        ]
    )
    wwdr_cert = issue_certificate(
        subject=wwdr_name,
        public_key=wwdr_key.public_key(),
        issuer_cert=ca_cert,
        issuer_key=ca_key,
        is_ca=True,
        path_length=0,
        days=3650,
    )

    signer_key = _new_key()
    signer_name = x509.Name(
        [
            x509.NameAttribute(NameOID.USER_ID, pass_type_identifier),
            x509.NameAttribute(NameOID.COMMON_NAME, f"Pass Type ID: {pass_type_identifier}"),
            x509.NameAttribute(NameOID.ORGANIZATIONAL_UNIT_NAME, team_identifier),
            x509.NameAttribute(NameOID.ORGANIZATION_NAME, DEV_ORGANIZATION),
        ]
    )
    signer_cert = issue_certificate(
        subject=signer_name,
        public_key=signer_key.public_key(),
        issuer_cert=wwdr_cert,
        issuer_key=wwdr_key,
        is_ca=False,
        days=365,
        # Client auth: the same certificate authenticates to APNs (certificate auth).
        extended_key_usages=[ExtendedKeyUsageOID.CLIENT_AUTH, ExtendedKeyUsageOID.EMAIL_PROTECTION],
    )

    _write_key(certificates.ca_key, ca_key)
    _write_cert(certificates.ca_cert, ca_cert)
    _write_key(certificates.wwdr_key, wwdr_key)
    _write_cert(certificates.wwdr_cert, wwdr_cert)
    _write_key(certificates.signer_key, signer_key)
    _write_cert(certificates.signer_cert, signer_cert)
    return DevCertificates(directory=directory, created=True)
