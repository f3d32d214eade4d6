"""Fixtures of the wallet configuration tests: Apple-shaped certificate chains, right or wrong on purpose.

Made with the development generator's ``issue_certificate``: a root, a WWDR
intermediate (OU "G4", or the retired G1's OU), and a Pass Type ID
certificate whose subject has the pass type id as UID and the team id as OU,
as Apple issues them. Keys are made once per session (RSA is slow to make).
"""

import datetime
from dataclasses import dataclass
from pathlib import Path

import pytest
from cryptography import x509
from cryptography.hazmat.primitives import serialization
from cryptography.hazmat.primitives.asymmetric import ec, rsa
from cryptography.x509.oid import ExtendedKeyUsageOID, NameOID

from wallet.apple.dev_certs import issue_certificate

PASS_TYPE_ID = "pass.com.example.loyalty"
TEAM_ID = "ABCDE12345"
KEY_PASSWORD = "correct horse battery staple"
G1_UNIT = "Apple Worldwide Developer Relations"


@dataclass(frozen=True)
class Keys:
    root: rsa.RSAPrivateKey
    wwdr: rsa.RSAPrivateKey
    signer: rsa.RSAPrivateKey
    other: rsa.RSAPrivateKey


@dataclass(frozen=True)
class AppleFiles:
    signer_cert: Path
    signer_key: Path
    wwdr_cert: Path
    signer: x509.Certificate


@pytest.fixture(scope="session")
def keys() -> Keys:
    return Keys(*(rsa.generate_private_key(public_exponent=65537, key_size=2048) for _ in range(4)))


def _name(*attributes) -> x509.Name:
    return x509.Name([x509.NameAttribute(oid, value) for oid, value in attributes])


def write_chain(
    directory: Path,
    keys: Keys,
    *,
    uid: str | None = PASS_TYPE_ID,
    team: str | None = TEAM_ID,
    organization: str = "Example Bakery Ltd",
    signer_days: int = 365,
    signer_valid_from: datetime.datetime | None = None,
    wwdr_unit: str = "G4",
    wwdr_days: int = 3650,
    wwdr_valid_from: datetime.datetime | None = None,
    signer_issued_by_other_key: bool = False,
    key_of_other_certificate: bool = False,
    key_password: str = "",
) -> AppleFiles:
    """Write a chain into ``directory``; every option makes one thing wrong."""
    directory.mkdir(parents=True, exist_ok=True)
    root = issue_certificate(
        subject=_name((NameOID.COMMON_NAME, "Test Root CA"), (NameOID.ORGANIZATION_NAME, "Apple Inc.")),
        public_key=keys.root.public_key(), issuer_cert=None, issuer_key=keys.root, is_ca=True, days=7300,
    )  # fmt: skip
    wwdr = issue_certificate(
        subject=_name(
            (NameOID.COMMON_NAME, "Apple Worldwide Developer Relations Certification Authority"),
            (NameOID.ORGANIZATIONAL_UNIT_NAME, wwdr_unit),
            (NameOID.ORGANIZATION_NAME, "Apple Inc."),
        ),
        public_key=keys.wwdr.public_key(), issuer_cert=root, issuer_key=keys.root, is_ca=True, path_length=0,
        days=wwdr_days, valid_from=wwdr_valid_from,
    )  # fmt: skip
    attributes = []
    if uid:
        attributes.append((NameOID.USER_ID, uid))
    attributes.append((NameOID.COMMON_NAME, f"Pass Type ID: {uid}"))
    if team:
        attributes.append((NameOID.ORGANIZATIONAL_UNIT_NAME, team))
    attributes.append((NameOID.ORGANIZATION_NAME, organization))
    signer = issue_certificate(
        subject=_name(*attributes),
        public_key=keys.signer.public_key(), issuer_cert=wwdr,
        issuer_key=keys.other if signer_issued_by_other_key else keys.wwdr,
        is_ca=False, days=signer_days, valid_from=signer_valid_from,
        extended_key_usages=[ExtendedKeyUsageOID.CLIENT_AUTH],
    )  # fmt: skip
    files = AppleFiles(
        signer_cert=directory / "pass.pem",
        signer_key=directory / "pass.key",
        wwdr_cert=directory / "wwdr.pem",
        signer=signer,
    )
    files.signer_cert.write_bytes(signer.public_bytes(serialization.Encoding.PEM))
    files.wwdr_cert.write_bytes(wwdr.public_bytes(serialization.Encoding.PEM))
    key = keys.other if key_of_other_certificate else keys.signer
    encryption = (
        serialization.BestAvailableEncryption(key_password.encode()) if key_password else serialization.NoEncryption()
    )
    files.signer_key.write_bytes(
        key.private_bytes(serialization.Encoding.PEM, serialization.PrivateFormat.PKCS8, encryption)
    )
    return files


@pytest.fixture
def apple_configured(settings, tmp_path, keys):
    """``apple_configured(**write_chain options)``: Apple Wallet configured with such a chain; returns its files."""
    settings.SITE_URL = "https://loyalty.example.com"
    settings.ALLOW_INSECURE_SITE_URL = False
    settings.LOYALTY_APPLE_APNS_AUTH = "certificate"
    settings.LOYALTY_GOOGLE_ISSUER_ID = ""
    settings.LOYALTY_GOOGLE_SERVICE_ACCOUNT_JSON = ""
    made = []

    def configure(*, pass_type_id: str = PASS_TYPE_ID, team_id: str = TEAM_ID, **options) -> AppleFiles:
        files = write_chain(tmp_path / f"chain-{len(made)}", keys, **options)
        made.append(files)
        settings.LOYALTY_APPLE_PASS_TYPE_ID = pass_type_id
        settings.LOYALTY_APPLE_TEAM_ID = team_id
        settings.LOYALTY_APPLE_SIGNER_CERT_PATH = str(files.signer_cert)
        settings.LOYALTY_APPLE_SIGNER_KEY_PATH = str(files.signer_key)
        settings.LOYALTY_APPLE_SIGNER_KEY_PASSWORD = options.get("key_password", "")
        settings.LOYALTY_APPLE_WWDR_CERT_PATH = str(files.wwdr_cert)
        return files

    return configure


@pytest.fixture
def apns_token_key(tmp_path) -> Path:
    """A P-256 key in PKCS#8 PEM, like the .p8 file Apple hands out for APNs token authentication."""
    path = tmp_path / "AuthKey_ABC123DEFG.p8"
    key = ec.generate_private_key(ec.SECP256R1())
    path.write_bytes(
        key.private_bytes(serialization.Encoding.PEM, serialization.PrivateFormat.PKCS8, serialization.NoEncryption())
    )
    return path
