"""The "Save to Google Wallet" link: a JWT signed with the service account's key.

Claims as Google's JWT reference defines them: ``iss`` (the service-account
e-mail), ``aud: "google"``, ``typ: "savetowallet"``, ``iat``, ``origins`` and
``payload.loyaltyObjects``. Signed RS256 by google-auth's signer, whose key id
(the key file's ``private_key_id``) goes in the ``kid`` header.

Google documents 1,800 characters as the safe length of a save link, so the
normal link carries only the object's id and class id ("skinny": the object
was inserted through the API first). When the API was unreachable the link
carries the whole object, trimmed of optional fields until it fits.
"""

import copy
import time

from google.auth import crypt, jwt

from .config import GoogleWalletConfig

SAVE_URL_PREFIX = "https://pay.google.com/gp/v/save/"
MAX_SAVE_URL_LENGTH = 1800

# Dropped one after the other from a full object until its link fits; what
# stays (id, classId, state, accountId, barcode value, points) is what the
# customer needs at the till.
_OPTIONAL_OBJECT_FIELDS = (
    ("accountName",),
    ("barcode", "alternateText"),
    ("secondaryLoyaltyPoints",),
    ("loyaltyPoints", "label"),
)


class SaveLinkTooLong(Exception):
    pass


def _signer(config: GoogleWalletConfig) -> crypt.RSASigner:
    return crypt.RSASigner.from_service_account_info(config.service_account_info)


def save_jwt(config: GoogleWalletConfig, loyalty_objects: list[dict], *, issued_at: int | None = None) -> str:
    claims = {
        "iss": config.client_email,
        "aud": "google",
        "typ": "savetowallet",
        "iat": int(time.time()) if issued_at is None else issued_at,
        "origins": list(config.origins),
        "payload": {"loyaltyObjects": loyalty_objects},
    }
    return jwt.encode(_signer(config), claims).decode("ascii")


def save_url(config: GoogleWalletConfig, loyalty_objects: list[dict]) -> str:
    return SAVE_URL_PREFIX + save_jwt(config, loyalty_objects)


def skinny_save_url(config: GoogleWalletConfig, *, object_id: str, class_id: str) -> str:
    """The link for an object Google already holds: only its id and class id."""
    url = save_url(config, [{"id": object_id, "classId": class_id}])
    if len(url) >= MAX_SAVE_URL_LENGTH:
        raise SaveLinkTooLong(f"a save link of {len(url)} characters: shorten LOYALTY_GOOGLE_ORIGINS")
    return url


def full_object_save_url(config: GoogleWalletConfig, loyalty_object: dict) -> str:
    """The link carrying the whole object (Google creates it on save), under the length limit."""
    candidate = copy.deepcopy(loyalty_object)
    url = save_url(config, [candidate])
    for field_path in _OPTIONAL_OBJECT_FIELDS:
        if len(url) < MAX_SAVE_URL_LENGTH:
            return url
        parent = candidate
        for name in field_path[:-1]:
            parent = parent.get(name, {})
        if field_path[-1] in parent:
            del parent[field_path[-1]]
            url = save_url(config, [candidate])
    if len(url) >= MAX_SAVE_URL_LENGTH:
        raise SaveLinkTooLong(f"a save link of {len(url)} characters even without optional fields")
    return url
