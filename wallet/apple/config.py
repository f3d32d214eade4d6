"""Apple Wallet settings, read at call time so tests (and a reload) can change them.

Apple Wallet is on when a pass type id, a team id, the pass-signing
certificate and key and the WWDR intermediate are all configured (the dev
certificates of ``wallet_dev_certs`` count, see settings). Anything missing
means off: no button, no pass, no push, and the web service answers 404.

A ``SITE_URL`` that is not ``https://`` (admitted with DEBUG off only by
``ALLOW_INSECURE_SITE_URL``) keeps Apple Wallet off too, unless the pass
certificate is a development one: a pass signed with Apple's certificate keeps
its web service URL for good, and a device never calls an http:// one.
``manage.py wallet_doctor`` and the system checks (``wallet/doctor.py``) say
which of these applies.
"""

import functools
import logging
import os
from dataclasses import dataclass

from django.conf import settings

logger = logging.getLogger(__name__)

WEB_SERVICE_PATH = "/api/v1/loyalty/apple"
# All of them, or Apple Wallet is off.
REQUIRED_SETTINGS = (
    "LOYALTY_APPLE_PASS_TYPE_ID",
    "LOYALTY_APPLE_TEAM_ID",
    "LOYALTY_APPLE_SIGNER_CERT_PATH",
    "LOYALTY_APPLE_SIGNER_KEY_PATH",
    "LOYALTY_APPLE_WWDR_CERT_PATH",
)


@dataclass(frozen=True)
class AppleConfig:
    pass_type_identifier: str
    team_identifier: str
    signer_cert_path: str
    signer_key_path: str
    signer_key_password: str
    wwdr_cert_path: str
    apns_host: str
    apns_port: int
    apns_auth: str  # "certificate" or "token"
    apns_key_path: str
    apns_key_id: str
    apns_team_id: str
    apns_ca_path: str
    apns_timeout_seconds: float

    @property
    def web_service_url(self) -> str:
        # Devices append "/v1/devices/..." themselves: no "/v1", no trailing slash here.
        return settings.SITE_URL + WEB_SERVICE_PATH

    @property
    def apns_base_url(self) -> str:
        return f"https://{self.apns_host}:{self.apns_port}"


def apple_settings() -> AppleConfig:
    """The configured values, whether or not they are complete enough for Apple Wallet to be on."""
    return AppleConfig(
        pass_type_identifier=settings.LOYALTY_APPLE_PASS_TYPE_ID,
        team_identifier=settings.LOYALTY_APPLE_TEAM_ID,
        signer_cert_path=settings.LOYALTY_APPLE_SIGNER_CERT_PATH,
        signer_key_path=settings.LOYALTY_APPLE_SIGNER_KEY_PATH,
        signer_key_password=settings.LOYALTY_APPLE_SIGNER_KEY_PASSWORD,
        wwdr_cert_path=settings.LOYALTY_APPLE_WWDR_CERT_PATH,
        apns_host=settings.LOYALTY_APPLE_APNS_HOST,
        apns_port=settings.LOYALTY_APPLE_APNS_PORT,
        apns_auth=settings.LOYALTY_APPLE_APNS_AUTH,
        apns_key_path=settings.LOYALTY_APPLE_APNS_KEY_PATH,
        apns_key_id=settings.LOYALTY_APPLE_APNS_KEY_ID,
        apns_team_id=settings.LOYALTY_APPLE_APNS_TEAM_ID,
        apns_ca_path=settings.LOYALTY_APPLE_APNS_CA_PATH,
        apns_timeout_seconds=settings.LOYALTY_APPLE_APNS_TIMEOUT_SECONDS,
    )


def apple_settings_missing() -> list[str]:
    """The required settings left empty (all of them when Apple Wallet is simply not configured)."""
    return [name for name in REQUIRED_SETTINGS if not getattr(settings, name)]


def site_url_is_insecure() -> bool:
    """``SITE_URL`` is http:// by the explicit ``ALLOW_INSECURE_SITE_URL`` (DEBUG runs need no permission)."""
    return settings.ALLOW_INSECURE_SITE_URL and not settings.SITE_URL.startswith("https://")


def signer_is_development(config: AppleConfig) -> bool:
    """Whether the pass certificate is a development one; False when it cannot be read."""
    try:
        stat = os.stat(config.signer_cert_path)
    except OSError:
        return False
    return _certificate_file_is_development(config.signer_cert_path, stat.st_mtime_ns, stat.st_size)


@functools.lru_cache(maxsize=4)
def _certificate_file_is_development(path: str, modified_at_ns: int, size: int) -> bool:
    # Keyed by the file's time and size too: a certificate replaced in place is read again.
    from wallet.apple.dev_certs import certificate_is_development
    from wallet.apple.signing import _load_certificate  # signing imports this module

    try:
        return certificate_is_development(_load_certificate(path))
    except (OSError, ValueError):
        return False


@functools.lru_cache(maxsize=4)
def _report_insecure_site_url(site_url: str) -> None:
    # Once per process and address: apple_config() is asked on every card change.
    logger.warning(
        "apple_wallet.off_insecure_site_url",
        extra={
            "wallet": "apple",
            "site_url": site_url,
            "reason": "SITE_URL is not https://, the certificate is Apple's",
        },
    )


def apple_config() -> AppleConfig | None:
    """The configuration, or ``None`` when Apple Wallet is off."""
    if apple_settings_missing():
        return None
    config = apple_settings()
    if site_url_is_insecure() and not signer_is_development(config):
        _report_insecure_site_url(settings.SITE_URL)
        return None
    return config
