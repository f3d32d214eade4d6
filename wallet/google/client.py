"""The Google Wallet REST client: OAuth through google-auth, create-or-update as Google documents.

Google's advice for writes: GET first; on 404 insert; on 409 from an insert
(someone inserted meanwhile) GET and update; an existing resource is PATCHed
with the changed top-level fields only (an array in a PATCH replaces the
whole array, so a changed module list is sent whole). A field that we no
longer send cannot be removed by a PATCH, so then the resource is replaced
with PUT.

Every call has a timeout. Failures are sorted for the callers' retry policy:
:class:`GoogleWalletUnavailable` (timeout, connection, 5xx, 429, token
endpoint down) is worth retrying; :class:`GoogleWalletRejected` (other 4xx)
is not. A 429 whose error names ``QuotaExceededException`` is neither: the
pass has had its three notifications of the day, and the same message sent
again as ``TEXT`` (no alert) is accepted (:class:`GoogleWalletQuotaExceeded`).
"""

import logging
import threading

import google.auth.exceptions
import requests
from google.auth.transport.requests import AuthorizedSession
from google.oauth2 import service_account

from .config import GoogleWalletConfig

logger = logging.getLogger(__name__)

SCOPE = "https://www.googleapis.com/auth/wallet_object.issuer"
CLASS_RESOURCE = "loyaltyClass"
OBJECT_RESOURCE = "loyaltyObject"


class GoogleWalletError(Exception):
    pass


class GoogleWalletUnavailable(GoogleWalletError):
    """Google did not answer usefully this time (timeout, 5xx, 429): retry later."""


class GoogleWalletRejected(GoogleWalletError):
    """Google refused the request (4xx): retrying the same request will not help."""

    def __init__(self, message, *, status_code: int | None = None):
        super().__init__(message)
        self.status_code = status_code


class GoogleWalletQuotaExceeded(GoogleWalletError):
    """Google refused a ``TEXT_AND_NOTIFY`` message: the pass had its notifications of the last 24 hours."""


class _AlreadyExists(Exception):
    pass


def changed_fields(payload: dict, last_payload: dict) -> list[str]:
    """Top-level fields of ``payload`` that differ from what Google last accepted (the id excluded)."""
    return [key for key, value in payload.items() if key != "id" and last_payload.get(key, object()) != value]


class WalletClient:
    def __init__(self, config: GoogleWalletConfig):
        self.api_base = config.api_base
        self.timeout_seconds = config.timeout_seconds
        credentials = service_account.Credentials.from_service_account_file(config.service_account_path, scopes=[SCOPE])
        self.session = AuthorizedSession(credentials, refresh_timeout=config.timeout_seconds)

    # --- one HTTP call -------------------------------------------------------------------
    def _call(self, method: str, path: str, body: dict | None = None) -> requests.Response:
        url = f"{self.api_base}/{path}"
        try:
            response = self.session.request(method, url, json=body, timeout=self.timeout_seconds)
        except requests.RequestException as error:
            raise GoogleWalletUnavailable(f"{method} {path}: {error.__class__.__name__}") from error
        except google.auth.exceptions.RefreshError as error:
            if getattr(error, "retryable", False):
                raise GoogleWalletUnavailable(f"token refresh: {error.__class__.__name__}") from error
            raise GoogleWalletRejected("token refresh refused (check the service-account key)") from error
        except google.auth.exceptions.TransportError as error:
            raise GoogleWalletUnavailable(f"token refresh: {error.__class__.__name__}") from error
        status = response.status_code
        if status == 429 and "QuotaExceeded" in response.text:
            raise GoogleWalletQuotaExceeded(f"{method} {path}: HTTP 429 quota exceeded")
        if status == 429 or status >= 500:
            raise GoogleWalletUnavailable(f"{method} {path}: HTTP {status}")
        return response

    @staticmethod
    def _reject(method: str, path: str, response: requests.Response):
        try:
            message = response.json().get("error", {}).get("message", "")
        except ValueError:
            message = ""
        return GoogleWalletRejected(
            f"{method} {path}: HTTP {response.status_code} {message}".strip(), status_code=response.status_code
        )

    def get(self, resource: str, resource_id: str) -> dict | None:
        path = f"{resource}/{resource_id}"
        response = self._call("GET", path)
        if response.status_code == 404:
            return None
        if response.status_code != 200:
            raise self._reject("GET", path, response)
        return response.json()

    def insert(self, resource: str, body: dict) -> dict:
        response = self._call("POST", resource, body)
        if response.status_code == 409:
            raise _AlreadyExists()
        if response.status_code != 200:
            raise self._reject("POST", resource, response)
        return response.json()

    def patch(self, resource: str, resource_id: str, body: dict) -> dict:
        path = f"{resource}/{resource_id}"
        response = self._call("PATCH", path, body)
        if response.status_code != 200:
            raise self._reject("PATCH", path, response)
        return response.json()

    def update(self, resource: str, resource_id: str, body: dict) -> dict:
        path = f"{resource}/{resource_id}"
        response = self._call("PUT", path, body)
        if response.status_code != 200:
            raise self._reject("PUT", path, response)
        return response.json()

    def add_message(self, resource: str, resource_id: str, message: dict) -> bool:
        """``addMessage`` on a class or object; False when it already holds a message with this id (409)."""
        path = f"{resource}/{resource_id}/addMessage"
        response = self._call("POST", path, {"message": message})
        if response.status_code == 409:
            return False
        if response.status_code != 200:
            raise self._reject("POST", path, response)
        return True

    def has_message(self, resource: str, resource_id: str, message_id: str) -> bool | None:
        """Whether the class or object holds the message ``message_id``; None when Google has no such resource."""
        current = self.get(resource, resource_id)
        if current is None:
            return None
        return any(message.get("id") == message_id for message in current.get("messages") or ())

    # --- create or update ---------------------------------------------------------------------
    def upsert(self, resource: str, payload: dict, *, last_payload: dict, also_send: tuple[str, ...] = ()) -> str:
        """Make Google hold ``payload``; returns what was done: inserted, patched, replaced or unchanged.

        ``also_send`` names fields sent with every PATCH that changes anything
        (a class's ``reviewStatus``).
        """
        resource_id = payload["id"]
        if self.get(resource, resource_id) is None:
            try:
                self.insert(resource, payload)
                return "inserted"
            except _AlreadyExists:
                # Inserted by someone else since our GET: Google says GET again, then update.
                if self.get(resource, resource_id) is None:
                    raise GoogleWalletUnavailable(f"{resource} {resource_id}: 409 on insert but 404 on GET") from None
        if any(key not in payload for key in last_payload):
            self.update(resource, resource_id, payload)
            return "replaced"
        changes = changed_fields(payload, last_payload)
        if not changes:
            return "unchanged"
        body = {key: payload[key] for key in (*changes, *also_send) if key in payload}
        self.patch(resource, resource_id, body)
        return "patched"


_clients: dict[tuple, WalletClient] = {}
_clients_lock = threading.Lock()


def client_for(config: GoogleWalletConfig) -> WalletClient:
    """One client per key and API base per process, so the OAuth access token is reused until it expires."""
    with _clients_lock:
        client = _clients.get(config.cache_key)
        if client is None:
            client = WalletClient(config)
            _clients.clear()
            _clients[config.cache_key] = client
        return client
