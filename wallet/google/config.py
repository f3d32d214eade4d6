"""Whether Google Wallet is on, and with which issuer and service account.

Google Wallet is on only when ``LOYALTY_GOOGLE_ISSUER_ID`` is set and
``LOYALTY_GOOGLE_SERVICE_ACCOUNT_JSON`` names a readable service-account key
file. Otherwise it is off: no button, nothing sent, and one log line per
process says why (the reason, never the key).
"""

import json
import logging
import os
from dataclasses import dataclass

from django.conf import settings

logger = logging.getLogger(__name__)

# Service-account key fields Google's OAuth flow and our JWT signer need.
_REQUIRED_KEY_FIELDS = ("type", "client_email", "private_key", "private_key_id", "token_uri")

_reported: set[tuple[str, str]] = set()
_key_cache: dict[tuple, dict] = {}


@dataclass(frozen=True)
class GoogleWalletConfig:
    issuer_id: str
    service_account_path: str
    service_account_info: dict  # holds the private key: never log or return it
    api_base: str
    origins: tuple[str, ...]
    id_prefix: str
    timeout_seconds: float

    @property
    def client_email(self) -> str:
        return self.service_account_info["client_email"]

    @property
    def cache_key(self) -> tuple:
        return (
            self.service_account_path,
            self.service_account_info["private_key_id"],
            self.api_base,
            self.timeout_seconds,
        )


class KeyFileError(Exception):
    pass


def _read_key_file(path: str) -> dict:
    """The key file's JSON, re-read only when the file changes (mtime, size)."""
    try:
        stat = os.stat(path)
    except OSError as error:
        raise KeyFileError(f"cannot read {path}: {error.strerror}") from None
    cache_key = (path, stat.st_mtime_ns, stat.st_size)
    if cache_key not in _key_cache:
        try:
            with open(path, encoding="utf-8") as handle:
                info = json.load(handle)
        except (OSError, ValueError) as error:
            raise KeyFileError(f"{path} is not a JSON service-account key ({error.__class__.__name__})") from None
        if not isinstance(info, dict):
            raise KeyFileError(f"{path} is not a JSON service-account key")
        missing = [name for name in _REQUIRED_KEY_FIELDS if not info.get(name)]
        if missing or info.get("type") != "service_account":
            raise KeyFileError(f"{path} is not a service-account key (missing: {', '.join(missing) or 'type'})")
        _key_cache.clear()
        _key_cache[cache_key] = info
    return _key_cache[cache_key]


def _report_once(event: str, message: str, **fields) -> None:
    """Log the state once per process and per distinct reason, not on every card change."""
    marker = (event, message)
    if marker in _reported:
        return
    _reported.add(marker)
    level = logging.WARNING if event == "google_wallet.misconfigured" else logging.INFO
    logger.log(level, "%s: %s", event, message, extra={"wallet": "google", **fields})


def config_get() -> GoogleWalletConfig | None:
    """The configuration, or ``None`` (and one log line saying why) when Google Wallet is off."""
    issuer_id = settings.LOYALTY_GOOGLE_ISSUER_ID.strip()
    key_path = settings.LOYALTY_GOOGLE_SERVICE_ACCOUNT_JSON.strip()
    if not issuer_id or not key_path:
        missing = [
            name
            for name, value in (
                ("LOYALTY_GOOGLE_ISSUER_ID", issuer_id),
                ("LOYALTY_GOOGLE_SERVICE_ACCOUNT_JSON", key_path),
            )
            if not value
        ]
        _report_once("google_wallet.disabled", f"Google Wallet is off: {' and '.join(missing)} not set")
        return None
    if not issuer_id.isdigit():
        _report_once(
            "google_wallet.misconfigured",
            "Google Wallet is off: LOYALTY_GOOGLE_ISSUER_ID must be the numeric issuer id",
        )
        return None
    try:
        info = _read_key_file(key_path)
    except KeyFileError as error:
        _report_once(
            "google_wallet.misconfigured", f"Google Wallet is off: LOYALTY_GOOGLE_SERVICE_ACCOUNT_JSON: {error}"
        )
        return None
    config = GoogleWalletConfig(
        issuer_id=issuer_id,
        service_account_path=key_path,
        service_account_info=info,
        api_base=settings.LOYALTY_GOOGLE_API_BASE.rstrip("/"),
        origins=tuple(settings.LOYALTY_GOOGLE_ORIGINS),
        id_prefix=settings.LOYALTY_GOOGLE_ID_PREFIX,
        timeout_seconds=settings.LOYALTY_GOOGLE_TIMEOUT_SECONDS,
    )
    _report_once(
        "google_wallet.enabled",
        f"Google Wallet is on for issuer {issuer_id}",
        issuer_id=issuer_id,
        service_account=config.client_email,
    )
    return config


def is_configured() -> bool:
    return config_get() is not None
