"""What the wallets are configured with and what is wrong with it: the one place that inspects them.

The system checks (``wallet/checks.py``, reported by ``manage.py check``,
``check --deploy``, ``runserver`` and ``migrate``), ``manage.py wallet_doctor``
and the daily expiry warnings (``wallet/expiry.py``) all read these
inspections, so they never disagree. Each finding has the stable id
its system check carries (``wallet.E015``...).

Nothing here holds a secret: paths, ids and certificate details (public by
nature) only, never key material or a password, and never the text of an
exception that could quote a file's content.
"""

import datetime
import hashlib
import math
from dataclasses import dataclass, field
from enum import StrEnum

from cryptography import x509
from cryptography.exceptions import InvalidSignature, UnsupportedAlgorithm
from cryptography.hazmat.primitives import serialization
from cryptography.hazmat.primitives.asymmetric import ec, rsa
from cryptography.x509.oid import NameOID
from django.conf import settings
from django.utils import timezone

from wallet.apple import config as apple
from wallet.apple.dev_certs import certificate_is_development
from wallet.apple.signing import _load_certificate, _load_private_key
from wallet.google import config as google

# A certificate expiring within this many days is a warning (and the daily e-mails begin).
EXPIRY_WARNING_DAYS = 30
# Apple issues Pass Type ID certificates from this WWDR intermediate; passes carrying another are refused.
WWDR_GENERATION = "G4"
APPLE_PKI_URL = "https://www.apple.com/certificateauthority/"
APNS_AUTH_METHODS = ("certificate", "token")


class Status(StrEnum):
    OK = "ok"
    WARNING = "warning"
    ERROR = "error"
    SKIPPED = "skipped"


@dataclass(frozen=True)
class Finding:
    check_id: str  # the system check's id, e.g. "wallet.E015"
    status: Status
    subject: str  # what was checked, in plain words
    detail: str  # what was found, in plain words
    hint: str = ""  # what to do about a problem
    setting: str = ""  # the setting to look at

    @property
    def is_problem(self) -> bool:
        return self.status in (Status.WARNING, Status.ERROR)

    def line(self) -> str:
        return f"{self.setting}: {self.detail}" if self.setting else self.detail


class CredentialKind(StrEnum):
    APPLE_PASS_CERTIFICATE = "apple_pass_certificate"
    APPLE_WWDR_CERTIFICATE = "apple_wwdr_certificate"

    @property
    def label(self) -> str:
        return {
            CredentialKind.APPLE_PASS_CERTIFICATE: "pass certificate",
            CredentialKind.APPLE_WWDR_CERTIFICATE: "WWDR certificate",
        }[self]

    @property
    def renewal_hint(self) -> str:
        if self is CredentialKind.APPLE_WWDR_CERTIFICATE:
            return (
                f"Download the current WWDR {WWDR_GENERATION} intermediate from {APPLE_PKI_URL}, replace the file "
                "and restart the web and worker processes."
            )
        return (
            "Renew it in the Apple Developer portal (Certificates, Identifiers & Profiles), replace the file "
            "and restart the web and worker processes."
        )


@dataclass(frozen=True)
class Credential:
    """A configured file that expires: what the daily warnings watch."""

    kind: CredentialKind
    setting: str
    path: str
    fingerprint_sha256: str  # of the certificate's DER bytes: a new certificate is a new credential
    expires_at: datetime.datetime

    def days_left(self, now: datetime.datetime) -> float:
        return (self.expires_at - now).total_seconds() / 86400

    def whole_days_left(self, now: datetime.datetime) -> int:
        """Days left as a person counts them: a certificate expiring in 9 days and 20 hours is "in 10 days"."""
        return math.ceil(self.days_left(now))


@dataclass
class Section:
    key: str  # "site", "apple", "google"
    title: str
    state: str = ""
    settings: list[tuple[str, str]] = field(default_factory=list)  # (name, value shown): never a secret
    findings: list[Finding] = field(default_factory=list)
    credentials: list[Credential] = field(default_factory=list)

    @property
    def problems(self) -> list[Finding]:
        return [finding for finding in self.findings if finding.is_problem]

    def add(self, check_id: str, status: Status, subject: str, detail: str, hint: str = "", setting: str = "") -> None:
        self.findings.append(Finding(check_id, status, subject, detail, hint, setting))


def _shown(value) -> str:
    return str(value) if value not in ("", None) else "(not set)"


def _moment(value: datetime.datetime) -> str:
    return f"{value:%Y-%m-%d %H:%M} UTC"


def _file_problem(error: OSError) -> str:
    return (error.strerror or error.__class__.__name__).lower()


def _certificate_read(section: Section, check_id: str, setting: str, path: str, label: str):
    """The certificate at ``path``, or ``None`` with an error finding saying why it cannot be used."""
    if not path:
        return None
    try:
        certificate = _load_certificate(path)
    except OSError as error:
        detail = f"your {label} cannot be read from {path}: {_file_problem(error)}"
    except ValueError:
        detail = f"{path} is not a certificate (PEM or DER)"
    else:
        section.add(check_id, Status.OK, f"the {label} can be read", f"{path}", setting=setting)
        return certificate
    section.add(
        check_id,
        Status.ERROR,
        f"the {label} can be read",
        detail,
        "Point the setting at the certificate file.",
        setting,
    )
    return None


def _name_values(name: x509.Name, oid) -> list[str]:
    return [str(attribute.value) for attribute in name.get_attributes_for_oid(oid)]


def _public_key_bytes(key) -> bytes:
    return key.public_bytes(serialization.Encoding.DER, serialization.PublicFormat.SubjectPublicKeyInfo)


def _expiry_check(section: Section, *, kind: "CredentialKind", setting: str, path: str, certificate, now) -> None:
    expires_at = certificate.not_valid_after_utc
    label = kind.label
    credential = Credential(
        kind=kind,
        setting=setting,
        path=path,
        fingerprint_sha256=hashlib.sha256(certificate.public_bytes(serialization.Encoding.DER)).hexdigest(),
        expires_at=expires_at,
    )
    section.credentials.append(credential)
    subject = f"the {label} is valid for more than {EXPIRY_WARNING_DAYS} days"
    days = credential.whole_days_left(now)
    renew = kind.renewal_hint
    if expires_at <= now:
        section.add(
            "wallet.E020", Status.ERROR, subject, f"your {label} expired on {_moment(expires_at)}", renew, setting
        )
    elif days <= EXPIRY_WARNING_DAYS:
        detail = f"your {label} expires on {_moment(expires_at)} (in {days} day{'s' if days != 1 else ''})"
        section.add("wallet.W021", Status.WARNING, subject, detail, renew, setting)
    elif certificate.not_valid_before_utc > now:
        detail = f"your {label} is not valid before {_moment(certificate.not_valid_before_utc)}"
        section.add(
            "wallet.E020",
            Status.ERROR,
            subject,
            detail,
            "Check the server's clock, or use a current certificate.",
            setting,
        )
    else:
        section.add(
            "wallet.E020", Status.OK, subject, f"expires on {_moment(expires_at)} (in {days} days)", setting=setting
        )


def site_inspect() -> Section:
    section = Section("site", "Site")
    section.settings = [
        ("SITE_URL", _shown(settings.SITE_URL)),
        ("ALLOW_INSECURE_SITE_URL", str(settings.ALLOW_INSECURE_SITE_URL).lower()),
    ]
    subject = "SITE_URL is an https:// address (wallet passes and links carry it)"
    if settings.SITE_URL.startswith("https://"):
        section.state = "https"
        section.add("wallet.W001", Status.OK, subject, settings.SITE_URL, setting="SITE_URL")
    elif apple.site_url_is_insecure():
        section.state = "insecure, by ALLOW_INSECURE_SITE_URL"
        section.add(
            "wallet.W001",
            Status.WARNING,
            subject,
            f"the site runs on {settings.SITE_URL} because ALLOW_INSECURE_SITE_URL=true: Apple Wallet is on only with "
            "development certificates, and Google Wallet cannot show the program logo",
            "In production set SITE_URL to the public https:// address and remove ALLOW_INSECURE_SITE_URL.",
            "SITE_URL",
        )
    else:
        section.state = "http, for development"
        section.add(
            "wallet.W001",
            Status.SKIPPED,
            subject,
            f"{settings.SITE_URL} (http:// is allowed while DEBUG is on)",
            setting="SITE_URL",
        )
    return section


def apple_inspect(*, now: datetime.datetime | None = None) -> Section:
    now = now or timezone.now()
    config = apple.apple_settings()
    section = Section("apple", "Apple Wallet")
    section.settings = [
        ("LOYALTY_APPLE_PASS_TYPE_ID", _shown(config.pass_type_identifier)),
        ("LOYALTY_APPLE_TEAM_ID", _shown(config.team_identifier)),
        ("LOYALTY_APPLE_SIGNER_CERT_PATH", _shown(config.signer_cert_path)),
        ("LOYALTY_APPLE_SIGNER_KEY_PATH", _shown(config.signer_key_path)),
        ("LOYALTY_APPLE_SIGNER_KEY_PASSWORD", "(set)" if config.signer_key_password else "(not set)"),
        ("LOYALTY_APPLE_WWDR_CERT_PATH", _shown(config.wwdr_cert_path)),
        ("LOYALTY_APPLE_APNS_AUTH", _shown(config.apns_auth)),
        ("LOYALTY_APPLE_APNS_HOST", f"{config.apns_host}:{config.apns_port}"),
    ]
    if config.apns_auth == "token":
        section.settings += [
            ("LOYALTY_APPLE_APNS_KEY_PATH", _shown(config.apns_key_path)),
            ("LOYALTY_APPLE_APNS_KEY_ID", _shown(config.apns_key_id)),
            ("LOYALTY_APPLE_APNS_TEAM_ID", _shown(config.apns_team_id or config.team_identifier)),
        ]
    missing = apple.apple_settings_missing()
    if len(missing) == len(apple.REQUIRED_SETTINGS):
        section.state = "off (not configured)"
        return section
    if missing:
        section.state = f"off ({', '.join(missing)} not set)"
        section.add(
            "wallet.W010",
            Status.WARNING,
            "every Apple Wallet setting is set",
            f"off because {' and '.join(missing)} {'is' if len(missing) == 1 else 'are'} not set",
            "Set them all (README, Apple Wallet), or none to leave Apple Wallet off.",
        )
    else:
        section.state = "on"
        section.add("wallet.W010", Status.OK, "every Apple Wallet setting is set", "all five are set")

    signer = _certificate_read(
        section, "wallet.E012", "LOYALTY_APPLE_SIGNER_CERT_PATH", config.signer_cert_path, "pass certificate"
    )
    key = _signer_key_read(section, config)
    if signer is not None and key is not None:
        subject = "the private key belongs to the pass certificate"
        if _public_key_bytes(signer.public_key()) == _public_key_bytes(key.public_key()):
            section.add("wallet.E014", Status.OK, subject, "it does", setting="LOYALTY_APPLE_SIGNER_KEY_PATH")
        else:
            section.add(
                "wallet.E014",
                Status.ERROR,
                subject,
                f"the private key in {config.signer_key_path} does not belong to your certificate",
                "Export the key together with its certificate (the same .p12) and point the setting at it.",
                "LOYALTY_APPLE_SIGNER_KEY_PATH",
            )
    if signer is not None:
        _identifiers_check(section, config, signer)

    wwdr = _certificate_read(
        section, "wallet.E017", "LOYALTY_APPLE_WWDR_CERT_PATH", config.wwdr_cert_path, "WWDR certificate"
    )
    if wwdr is not None:
        _wwdr_check(section, config, wwdr, signer)

    for kind, setting, path, certificate in (
        (CredentialKind.APPLE_PASS_CERTIFICATE, "LOYALTY_APPLE_SIGNER_CERT_PATH", config.signer_cert_path, signer),
        (CredentialKind.APPLE_WWDR_CERTIFICATE, "LOYALTY_APPLE_WWDR_CERT_PATH", config.wwdr_cert_path, wwdr),
    ):
        if certificate is not None:
            _expiry_check(section, kind=kind, setting=setting, path=path, certificate=certificate, now=now)

    if not missing:
        if apple.site_url_is_insecure() and signer is not None and not certificate_is_development(signer):
            section.state = "off (SITE_URL is not https://)"
            section.add(
                "wallet.W011",
                Status.WARNING,
                "passes carry an https:// web service URL",
                f"off because SITE_URL is {settings.SITE_URL} (ALLOW_INSECURE_SITE_URL), and a pass signed "
                "with your Apple certificate would keep that address for good",
                "Set SITE_URL to the public https:// address, or use development certificates for a local run.",
            )
        _apns_check(section, config)
    if section.state == "on" and section.problems:
        section.state = "on, with problems (see below)"
    return section


def _signer_key_read(section: Section, config):
    if not config.signer_key_path:
        return None
    subject = "the pass certificate's private key can be read"
    setting = "LOYALTY_APPLE_SIGNER_KEY_PATH"
    hint = "Point the setting at the pass certificate's PEM key (its password in LOYALTY_APPLE_SIGNER_KEY_PASSWORD)."
    try:
        key = _load_private_key(config.signer_key_path, config.signer_key_password)
    except OSError as error:
        detail = f"the private key cannot be read from {config.signer_key_path}: {_file_problem(error)}"
    except TypeError:
        # cryptography: a password for an unencrypted key, or none for an encrypted one.
        if config.signer_key_password:
            detail = f"the private key in {config.signer_key_path} is not encrypted, but a password is set"
            hint = "Leave LOYALTY_APPLE_SIGNER_KEY_PASSWORD empty."
        else:
            detail = f"the private key in {config.signer_key_path} is encrypted and no password is set"
            hint = "Set LOYALTY_APPLE_SIGNER_KEY_PASSWORD."
    except (ValueError, UnsupportedAlgorithm):
        detail = (
            f"{config.signer_key_path} is not a private key, or LOYALTY_APPLE_SIGNER_KEY_PASSWORD is not its password"
        )
    else:
        section.add("wallet.E013", Status.OK, subject, config.signer_key_path, setting=setting)
        return key
    section.add("wallet.E013", Status.ERROR, subject, detail, hint, setting)
    return None


def _identifiers_check(section: Section, config, signer: x509.Certificate) -> None:
    # A Pass Type ID certificate's subject carries the pass type id as UID and the team id as OU.
    user_ids = _name_values(signer.subject, NameOID.USER_ID)
    subject = "the pass type id matches the certificate (its UID)"
    setting = "LOYALTY_APPLE_PASS_TYPE_ID"
    if not user_ids:
        section.add(
            "wallet.E015",
            Status.ERROR,
            subject,
            "your certificate has no UID: it is not a Pass Type ID certificate",
            "In the Apple Developer portal, create the certificate for your Pass Type ID and use that one.",
            setting,
        )
    elif config.pass_type_identifier and config.pass_type_identifier not in user_ids:
        section.add(
            "wallet.E015",
            Status.ERROR,
            subject,
            f"this pass type id ({config.pass_type_identifier}) does not match your certificate, "
            f"which was issued for {user_ids[0]}",
            f"Set LOYALTY_APPLE_PASS_TYPE_ID={user_ids[0]}, or use the certificate of {config.pass_type_identifier}.",
            setting,
        )
    elif config.pass_type_identifier:
        section.add("wallet.E015", Status.OK, subject, user_ids[0], setting=setting)

    units = _name_values(signer.subject, NameOID.ORGANIZATIONAL_UNIT_NAME)
    subject = "the team id matches the certificate (its OU)"
    setting = "LOYALTY_APPLE_TEAM_ID"
    if not config.team_identifier:
        return
    if config.team_identifier in units:
        section.add("wallet.E016", Status.OK, subject, config.team_identifier, setting=setting)
    else:
        found = f"whose team is {units[0]}" if units else "which names no team (OU)"
        section.add(
            "wallet.E016",
            Status.ERROR,
            subject,
            f"this team id ({config.team_identifier}) does not match your certificate, {found}",
            f"Set LOYALTY_APPLE_TEAM_ID={units[0]}." if units else "Use the Pass Type ID certificate Apple issued.",
            setting,
        )


def _wwdr_check(section: Section, config, wwdr: x509.Certificate, signer: x509.Certificate | None) -> None:
    setting = "LOYALTY_APPLE_WWDR_CERT_PATH"
    download = (
        f"Download 'Worldwide Developer Relations - {WWDR_GENERATION}' from {APPLE_PKI_URL} "
        "and point LOYALTY_APPLE_WWDR_CERT_PATH at it."
    )
    units = _name_values(wwdr.subject, NameOID.ORGANIZATIONAL_UNIT_NAME)
    subject = f"the WWDR certificate is Apple's {WWDR_GENERATION} intermediate"
    if WWDR_GENERATION in units:
        section.add("wallet.E018", Status.OK, subject, wwdr.subject.rfc4514_string(), setting=setting)
    else:
        section.add(
            "wallet.E018",
            Status.ERROR,
            subject,
            f"the WWDR certificate in {config.wwdr_cert_path} is not the {WWDR_GENERATION} intermediate "
            f"({wwdr.subject.rfc4514_string()}): iPhones refuse passes signed with another",
            download,
            setting,
        )
    if signer is None:
        return
    subject = "the WWDR certificate issued the pass certificate"
    try:
        signer.verify_directly_issued_by(wwdr)
    except (ValueError, TypeError, InvalidSignature):
        section.add(
            "wallet.E019",
            Status.ERROR,
            subject,
            "the WWDR certificate did not issue your pass certificate "
            f"(whose issuer is {signer.issuer.rfc4514_string()})",
            download,
            setting,
        )
    else:
        section.add("wallet.E019", Status.OK, subject, "it did", setting=setting)


def _apns_check(section: Section, config) -> None:
    setting = "LOYALTY_APPLE_APNS_AUTH"
    subject = "the APNs authentication is 'certificate' or 'token'"
    if config.apns_auth not in APNS_AUTH_METHODS:
        section.add(
            "wallet.E022",
            Status.ERROR,
            subject,
            f"'{config.apns_auth}' is neither 'certificate' nor 'token': no pass update would reach a device",
            "Set LOYALTY_APPLE_APNS_AUTH=certificate (the pass certificate) or token (a .p8 key).",
            setting,
        )
        return
    section.add("wallet.E022", Status.OK, subject, config.apns_auth, setting=setting)
    if config.apns_auth != "token":
        return
    subject = "the APNs token key (.p8) can be read and is a P-256 key"
    setting = "LOYALTY_APPLE_APNS_KEY_PATH"
    hint = "Point LOYALTY_APPLE_APNS_KEY_PATH at the .p8 key from the Apple Developer portal (Keys)."
    detail = ""
    if not config.apns_key_path:
        detail = "token authentication is chosen but no .p8 key is set"
    else:
        try:
            with open(config.apns_key_path, "rb") as handle:
                key = serialization.load_pem_private_key(handle.read(), password=None)
        except OSError as error:
            detail = f"the APNs key cannot be read from {config.apns_key_path}: {_file_problem(error)}"
        except (ValueError, TypeError, UnsupportedAlgorithm):
            detail = f"{config.apns_key_path} is not an unencrypted private key (PEM .p8)"
        else:
            if not isinstance(key, ec.EllipticCurvePrivateKey) or key.curve.name != "secp256r1":
                detail = f"{config.apns_key_path} is not the P-256 (ES256) key Apple issues for APNs"
    if detail:
        section.add("wallet.E023", Status.ERROR, subject, detail, hint, setting)
    else:
        section.add("wallet.E023", Status.OK, subject, config.apns_key_path, setting=setting)
    subject = "the APNs key id is set"
    if config.apns_key_id:
        section.add("wallet.E024", Status.OK, subject, config.apns_key_id, setting="LOYALTY_APPLE_APNS_KEY_ID")
    else:
        section.add(
            "wallet.E024",
            Status.ERROR,
            subject,
            "token authentication is chosen but the key's id is not set: APNs refuses every push",
            "Set LOYALTY_APPLE_APNS_KEY_ID to the 10-character id shown beside the key in the Apple Developer portal.",
            "LOYALTY_APPLE_APNS_KEY_ID",
        )


def google_inspect() -> Section:
    issuer_id = settings.LOYALTY_GOOGLE_ISSUER_ID.strip()
    key_path = settings.LOYALTY_GOOGLE_SERVICE_ACCOUNT_JSON.strip()
    section = Section("google", "Google Wallet")
    section.settings = [
        ("LOYALTY_GOOGLE_ISSUER_ID", _shown(issuer_id)),
        ("LOYALTY_GOOGLE_SERVICE_ACCOUNT_JSON", _shown(key_path)),
        ("LOYALTY_GOOGLE_ORIGINS", ", ".join(settings.LOYALTY_GOOGLE_ORIGINS) or "(not set)"),
        ("LOYALTY_GOOGLE_API_BASE", settings.LOYALTY_GOOGLE_API_BASE),
    ]
    if not issuer_id and not key_path:
        section.state = "off (not configured)"
        return section
    subject = "the issuer id and the service-account key file are both set"
    missing = "LOYALTY_GOOGLE_ISSUER_ID" if not issuer_id else "LOYALTY_GOOGLE_SERVICE_ACCOUNT_JSON"
    if not issuer_id or not key_path:
        section.add(
            "wallet.W030",
            Status.WARNING,
            subject,
            f"off because {missing} is not set",
            "Set both (README, Google Wallet), or neither to leave Google Wallet off.",
        )
    else:
        section.add("wallet.W030", Status.OK, subject, "both are set")
    if issuer_id:
        subject = "the issuer id is the numeric id of the Google Pay & Wallet Console"
        if issuer_id.isdigit():
            section.add("wallet.E031", Status.OK, subject, issuer_id, setting="LOYALTY_GOOGLE_ISSUER_ID")
        else:
            section.add(
                "wallet.E031",
                Status.ERROR,
                subject,
                f"the issuer id {issuer_id!r} is not a number",
                "Copy the issuer id (digits only) from the Google Pay & Wallet Console.",
                "LOYALTY_GOOGLE_ISSUER_ID",
            )
    if key_path:
        _google_key_check(section, key_path)
    section.state = "off (see below)" if section.problems else "on"
    return section


def _google_key_check(section: Section, key_path: str) -> None:
    subject = "the key file is a service-account key with its private key"
    setting = "LOYALTY_GOOGLE_SERVICE_ACCOUNT_JSON"
    hint = "In the Google Cloud console, create a JSON key for the service account and point the setting at it."
    try:
        info = google._read_key_file(key_path)
    except google.KeyFileError as error:
        section.add("wallet.E032", Status.ERROR, subject, str(error), hint, setting)
        return
    try:
        key = serialization.load_pem_private_key(info["private_key"].encode(), password=None)
    except (ValueError, TypeError, UnsupportedAlgorithm, AttributeError):
        key = None
    if not isinstance(key, rsa.RSAPrivateKey):
        section.add(
            "wallet.E032",
            Status.ERROR,
            subject,
            f"the private key in {key_path} cannot be read (RSA, PEM)",
            hint,
            setting,
        )
        return
    section.settings.append(("service account", info["client_email"]))
    section.add("wallet.E032", Status.OK, subject, f"{key_path} ({info['client_email']})", setting=setting)


def wallet_inspect(*, now: datetime.datetime | None = None) -> list[Section]:
    """Every wallet's settings, what was checked and what was found."""
    return [site_inspect(), apple_inspect(now=now), google_inspect()]


def credentials_list(*, now: datetime.datetime | None = None) -> list[Credential]:
    """The configured wallet files that expire (the Apple certificates), whether or not the rest is right."""
    return apple_inspect(now=now).credentials
