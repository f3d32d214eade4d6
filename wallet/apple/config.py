"""Apple Wallet settings, read at call time so tests (and a reload) can change them.

Apple Wallet is on when a pass type id, a team id, the pass-signing
certificate and key and the WWDR intermediate are all configured (the dev
certificates of ``wallet_dev_certs`` count, see settings). Anything missing
means off: no button, no pass, no push, and the web service answers 404.
"""

from dataclasses import dataclass

from django.conf import settings

WEB_SERVICE_PATH = "/api/v1/loyalty/apple"


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


def apple_config() -> AppleConfig | None:
    """The configuration, or ``None`` when Apple Wallet is off."""
    config = AppleConfig(
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
    required = (
        config.pass_type_identifier,
        config.team_identifier,
        config.signer_cert_path,
        config.signer_key_path,
        config.wwdr_cert_path,
    )
    return config if all(required) else None
