"""A minimal APNs provider client: ``POST /3/device/{token}`` over one HTTP/2 connection.

Apple asks providers to keep their connection open and reuse it rather than
connect per notification, so each process keeps one ``httpx.Client`` per
configuration. Authentication is either the pass certificate (TLS client
certificate; what Apple documents for Wallet pass updates) or a token: an
ES256 JWT from a .p8 key, renewed every 50 minutes (Apple rejects tokens
older than an hour and refreshing more often than every 20 minutes).
"""

import base64
import json
import ssl
import threading
import time
from dataclasses import dataclass

import httpx
from cryptography.hazmat.primitives import hashes, serialization
from cryptography.hazmat.primitives.asymmetric import ec
from cryptography.hazmat.primitives.asymmetric.utils import decode_dss_signature

from wallet.apple.config import AppleConfig

# A pass update notification carries no content: the device asks our web service what changed.
EMPTY_PAYLOAD = b"{}"
TOKEN_LIFETIME_SECONDS = 50 * 60


@dataclass(frozen=True)
class ApnsResponse:
    status: int
    reason: str


def _b64url(data: bytes) -> str:
    return base64.urlsafe_b64encode(data).rstrip(b"=").decode("ascii")


def provider_token(*, key_pem: bytes, key_id: str, team_id: str, issued_at: int) -> str:
    """The ES256 JWT of APNs token authentication (header ``kid``, claims ``iss`` and ``iat``)."""
    key = serialization.load_pem_private_key(key_pem, password=None)
    if not isinstance(key, ec.EllipticCurvePrivateKey):
        raise TypeError("The APNs key must be the P-256 (ES256) .p8 key Apple issues.")
    header = _b64url(json.dumps({"alg": "ES256", "kid": key_id}, separators=(",", ":")).encode())
    claims = _b64url(json.dumps({"iss": team_id, "iat": issued_at}, separators=(",", ":")).encode())
    signing_input = f"{header}.{claims}".encode("ascii")
    r, s = decode_dss_signature(key.sign(signing_input, ec.ECDSA(hashes.SHA256())))
    return f"{header}.{claims}.{_b64url(r.to_bytes(32, 'big') + s.to_bytes(32, 'big'))}"


class ApnsClient:
    def __init__(self, config: AppleConfig):
        self._config = config
        self._token: str | None = None
        self._token_issued_at = 0.0
        self._token_lock = threading.Lock()
        context = ssl.create_default_context(cafile=config.apns_ca_path or None)
        if config.apns_auth != "token":
            context.load_cert_chain(
                config.signer_cert_path, config.signer_key_path, password=config.signer_key_password or None
            )
        self._http = httpx.Client(
            base_url=config.apns_base_url,
            http1=False,
            http2=True,
            verify=context,
            timeout=httpx.Timeout(config.apns_timeout_seconds),
            limits=httpx.Limits(max_connections=1, max_keepalive_connections=1),
        )

    def _authorization(self) -> dict[str, str]:
        if self._config.apns_auth != "token":
            return {}
        with self._token_lock:
            now = time.time()
            if self._token is None or now - self._token_issued_at > TOKEN_LIFETIME_SECONDS:
                with open(self._config.apns_key_path, "rb") as handle:
                    key_pem = handle.read()
                self._token = provider_token(
                    key_pem=key_pem,
                    key_id=self._config.apns_key_id,
                    team_id=self._config.apns_team_id or self._config.team_identifier,
                    issued_at=int(now),
                )
                self._token_issued_at = now
            return {"authorization": f"bearer {self._token}"}

    def push(self, *, push_token: str, topic: str) -> ApnsResponse:
        """Send the empty update notification; transport errors raise ``httpx.HTTPError``."""
        response = self._http.post(
            f"/3/device/{push_token}",
            content=EMPTY_PAYLOAD,
            headers={"apns-topic": topic, "content-type": "application/json", **self._authorization()},
        )
        reason = ""
        if response.status_code != 200:
            try:
                reason = str(response.json().get("reason", ""))
            except ValueError:
                reason = ""
        return ApnsResponse(status=response.status_code, reason=reason)

    def close(self) -> None:
        self._http.close()


_clients: dict[AppleConfig, ApnsClient] = {}
_clients_lock = threading.Lock()


def apns_client(config: AppleConfig) -> ApnsClient:
    """This process's client for the configuration, created on first use and then reused."""
    with _clients_lock:
        client = _clients.get(config)
        if client is None:
            client = _clients[config] = ApnsClient(config)
        return client


def apns_clients_close() -> None:
    with _clients_lock:
        for client in _clients.values():
            client.close()
        _clients.clear()
