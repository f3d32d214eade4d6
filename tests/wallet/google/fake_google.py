"""A local stand-in for Google: the OAuth token endpoint and the Wallet REST API.

A real HTTP server on 127.0.0.1 (http.server in a thread). It checks what
Google checks that matters here (a JWT-bearer assertion signed by the service
account's key at the token endpoint; the bearer token on every REST call),
keeps classes and objects in memory, answers like Google (404 for an unknown
id, 409 for a duplicate insert, PATCH merges top-level fields) and records
every request. Tests script failures: an HTTP status or a delay.

``addMessage`` on a class or an object appends the message to its
``messages`` (409 for an id it already holds). A ``TEXT_AND_NOTIFY``
message is a notification of the pass — a class's, of every pass of the
class — and, as Google does, a fourth notification of one object within
24 hours is refused with HTTP 429 and a ``QuotaExceededException``. A class
message is not refused (Google applies the per-pass limit to what it shows).

Also runnable by hand, to click through the save button of ``make run``
without a Google account (README "Google Wallet")::

    .venv/bin/python -m tests.wallet.google.fake_google --key-file var/google-test-key.json
"""

import argparse
import datetime
import json
import threading
import time
import urllib.parse
from dataclasses import dataclass, field
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer
from pathlib import Path

import google.auth.jwt
from cryptography import x509
from cryptography.hazmat.primitives import hashes, serialization
from cryptography.hazmat.primitives.asymmetric import rsa
from cryptography.x509.oid import NameOID

ISSUER_ID = "3388000000022212345"
CLIENT_EMAIL = "wallet-issuer@loyalty-tests.iam.gserviceaccount.com"
KEY_ID = "0f1e2d3c4b5a69788796a5b4c3d2e1f001234567"
ACCESS_TOKEN = "ya29.local-test-access-token"
SITE_URL = "https://loyalty.example.com"
API_PREFIX = "/walletobjects/v1/"
# google-auth addresses a service account's assertion to Google's token endpoint, whatever token_uri says.
GOOGLE_TOKEN_AUDIENCE = "https://oauth2.googleapis.com/token"
NOTIFICATIONS_PER_PASS = 3
NOTIFICATION_WINDOW_SECONDS = 24 * 3600


@dataclass
class ServiceAccountKey:
    private_key_pem: str
    certificate_pem: str
    key_id: str = KEY_ID
    client_email: str = CLIENT_EMAIL


def new_service_account_key() -> ServiceAccountKey:
    """A fresh RSA key with a self-signed certificate, like Google's published service-account certs."""
    key = rsa.generate_private_key(public_exponent=65537, key_size=2048)
    name = x509.Name([x509.NameAttribute(NameOID.COMMON_NAME, CLIENT_EMAIL)])
    now = datetime.datetime.now(datetime.UTC)
    certificate = (
        x509.CertificateBuilder()
        .subject_name(name)
        .issuer_name(name)
        .public_key(key.public_key())
        .serial_number(x509.random_serial_number())
        .not_valid_before(now - datetime.timedelta(days=1))
        .not_valid_after(now + datetime.timedelta(days=30))
        .sign(key, hashes.SHA256())
    )
    return ServiceAccountKey(
        private_key_pem=key.private_bytes(
            serialization.Encoding.PEM, serialization.PrivateFormat.PKCS8, serialization.NoEncryption()
        ).decode(),
        certificate_pem=certificate.public_bytes(serialization.Encoding.PEM).decode(),
    )


@dataclass
class RecordedRequest:
    method: str
    path: str  # relative to /walletobjects/v1/, e.g. "loyaltyObject/3388....loyalty-card-1"
    body: dict | None
    authorization: str


@dataclass
class ScriptedAnswer:
    method: str
    path_contains: str
    status: int | None  # None: answer normally, after the delay
    delay_seconds: float
    remaining: int


@dataclass
class FakeGoogleWallet:
    certificate_pem: str
    url: str = ""
    requests: list[RecordedRequest] = field(default_factory=list)
    token_requests: int = 0
    resources: dict[str, dict] = field(default_factory=dict)
    scripted: list[ScriptedAnswer] = field(default_factory=list)
    lock: threading.Lock = field(default_factory=threading.Lock)
    # "loyaltyObject/<id>" or "loyaltyClass/<id>" -> times of the notifying messages it got
    notifications: dict[str, list[float]] = field(default_factory=dict)
    refused_notifications: int = 0
    clock = staticmethod(time.time)

    def notifications_seed(self, object_id: str, count: int) -> None:
        """The object had ``count`` notifications just now (from before the test)."""
        with self.lock:
            self.notifications.setdefault(f"loyaltyObject/{object_id}", []).extend([self.clock()] * count)

    def messages(self, path: str) -> list[dict]:
        """The messages a class or object holds, e.g. ``messages("loyaltyClass/<id>")``."""
        return list(self.resources.get(path, {}).get("messages", []))

    def message_calls(self, resource: str = "") -> list[RecordedRequest]:
        return [r for r in self.requests if r.path.endswith("/addMessage") and r.path.startswith(resource)]

    def _recent(self, path: str) -> int:
        since = self.clock() - NOTIFICATION_WINDOW_SECONDS
        return sum(1 for moment in self.notifications.get(path, ()) if moment >= since)

    def _add_message(self, path: str, message: dict) -> tuple[int, dict]:
        """Google's addMessage on ``path`` (a class or an object); called with the lock held."""
        current = self.resources.get(path)
        if current is None:
            return 404, _google_error(404, f"Resource {path} not found.")
        if any(held.get("id") == message.get("id") for held in current.get("messages", [])):
            return 409, _google_error(409, f"Message {message.get('id')} already exists.")
        notify = message.get("messageType") == "TEXT_AND_NOTIFY"
        if notify and path.startswith("loyaltyObject/"):
            class_path = f"loyaltyClass/{current.get('classId')}"
            if self._recent(path) + self._recent(class_path) >= NOTIFICATIONS_PER_PASS:
                self.refused_notifications += 1
                return 429, {
                    "error": {
                        "code": 429,
                        "message": "QuotaExceededException: too many notifications for this object.",
                        "status": "RESOURCE_EXHAUSTED",
                        "errors": [{"reason": "QuotaExceededException", "domain": "walletobjects"}],
                    }
                }
        current.setdefault("messages", []).append(dict(message))
        if notify:
            self.notifications.setdefault(path, []).append(self.clock())
        return 200, {"resource": current}

    def answer_next(self, method: str, path_contains: str = "", *, status=None, delay_seconds=0.0, times=1):
        """Make the next ``times`` matching requests fail with ``status`` and/or wait ``delay_seconds``."""
        with self.lock:
            self.scripted.append(ScriptedAnswer(method, path_contains, status, delay_seconds, times))

    def calls(self) -> list[tuple[str, str]]:
        return [(request.method, request.path) for request in self.requests]

    def bodies(self, method: str) -> list[dict]:
        return [request.body for request in self.requests if request.method == method]

    def _scripted_for(self, method: str, path: str) -> ScriptedAnswer | None:
        with self.lock:
            for answer in self.scripted:
                if answer.remaining > 0 and answer.method == method and answer.path_contains in path:
                    answer.remaining -= 1
                    return answer
        return None


def _google_error(status: int, message: str) -> dict:
    names = {400: "INVALID_ARGUMENT", 401: "UNAUTHENTICATED", 404: "NOT_FOUND", 409: "ALREADY_EXISTS"}
    return {"error": {"code": status, "message": message, "status": names.get(status, "INTERNAL")}}


def _handler_for(wallet: FakeGoogleWallet):
    class Handler(BaseHTTPRequestHandler):
        def log_message(self, *args):
            pass

        def _send(self, status: int, body: dict):
            data = json.dumps(body).encode()
            try:
                self.send_response(status)
                self.send_header("Content-Type", "application/json; charset=UTF-8")
                self.send_header("Content-Length", str(len(data)))
                self.end_headers()
                self.wfile.write(data)
            except (BrokenPipeError, ConnectionResetError):
                pass  # the client gave up (a timeout test)

        def _body(self):
            length = int(self.headers.get("Content-Length") or 0)
            return self.rfile.read(length) if length else b""

        def _token(self):
            form = urllib.parse.parse_qs(self._body().decode())
            wallet.token_requests += 1
            if form.get("grant_type") != ["urn:ietf:params:oauth:grant-type:jwt-bearer"]:
                return self._send(400, {"error": "unsupported_grant_type"})
            try:
                claims = google.auth.jwt.decode(
                    form["assertion"][0], certs=wallet.certificate_pem, audience=GOOGLE_TOKEN_AUDIENCE
                )
            except Exception as error:  # any verification failure is Google's invalid_grant
                return self._send(400, {"error": "invalid_grant", "error_description": str(error)})
            if "wallet_object.issuer" not in claims.get("scope", ""):
                return self._send(400, {"error": "invalid_scope"})
            return self._send(200, {"access_token": ACCESS_TOKEN, "expires_in": 3600, "token_type": "Bearer"})

        def _api(self, method: str):
            path = self.path[len(API_PREFIX) :]
            raw = self._body()
            body = json.loads(raw) if raw else None
            authorization = self.headers.get("Authorization", "")
            wallet.requests.append(RecordedRequest(method, path, body, authorization))
            scripted = wallet._scripted_for(method, path)
            if scripted is not None:
                time.sleep(scripted.delay_seconds)
                if scripted.status is not None:
                    return self._send(scripted.status, _google_error(scripted.status, "scripted failure"))
            if authorization != f"Bearer {ACCESS_TOKEN}":
                return self._send(401, _google_error(401, "Request had invalid authentication credentials."))
            resource, _, resource_id = path.partition("/")
            with wallet.lock:
                if method == "POST" and path.endswith("/addMessage"):
                    status, answer = wallet._add_message(path.removesuffix("/addMessage"), body["message"])
                    return self._send(status, answer)
                if method == "POST":
                    key = f"{resource}/{body['id']}"
                    if key in wallet.resources:
                        return self._send(409, _google_error(409, f"Resource {body['id']} already exists."))
                    wallet.resources[key] = dict(body)
                    return self._send(200, wallet.resources[key])
                current = wallet.resources.get(path)
                if current is None:
                    return self._send(404, _google_error(404, f"Resource {resource_id} not found."))
                if method == "PATCH":
                    current.update(body)
                elif method == "PUT":
                    wallet.resources[path] = current = dict(body)
                return self._send(200, current)

        def do_POST(self):
            if self.path == "/token":
                return self._token()
            return self._api("POST")

        def do_GET(self):
            return self._api("GET")

        def do_PATCH(self):
            return self._api("PATCH")

        def do_PUT(self):
            return self._api("PUT")

    return Handler


def start_server(certificate_pem: str, port: int = 0) -> tuple[FakeGoogleWallet, ThreadingHTTPServer]:
    wallet = FakeGoogleWallet(certificate_pem=certificate_pem)
    server = ThreadingHTTPServer(("127.0.0.1", port), _handler_for(wallet))
    server.daemon_threads = True
    wallet.url = f"http://127.0.0.1:{server.server_address[1]}"
    threading.Thread(target=server.serve_forever, kwargs={"poll_interval": 0.05}, daemon=True).start()
    return wallet, server


def service_account_info(key: ServiceAccountKey, token_uri: str) -> dict:
    """A service-account key file's content, as the Google Cloud console downloads it."""
    return {
        "type": "service_account",
        "project_id": "loyalty-tests",
        "private_key_id": key.key_id,
        "private_key": key.private_key_pem,
        "client_email": key.client_email,
        "client_id": "100000000000000000001",
        "token_uri": token_uri,
    }


def main() -> None:
    parser = argparse.ArgumentParser(description="A local Google Wallet API for trying the save button.")
    parser.add_argument("--key-file", type=Path, default=Path("var/google-test-key.json"))
    parser.add_argument("--port", type=int, default=8790)
    arguments = parser.parse_args()
    key = new_service_account_key()
    wallet, server = start_server(key.certificate_pem, arguments.port)
    arguments.key_file.parent.mkdir(parents=True, exist_ok=True)
    arguments.key_file.write_text(json.dumps(service_account_info(key, wallet.url + "/token")))
    arguments.key_file.chmod(0o600)
    print("Local Google Wallet API running. In another shell:")
    print(f"  export LOYALTY_GOOGLE_ISSUER_ID={ISSUER_ID}")
    print(f"  export LOYALTY_GOOGLE_SERVICE_ACCOUNT_JSON={arguments.key_file.resolve()}")
    print(f"  export LOYALTY_GOOGLE_API_BASE={wallet.url}/walletobjects/v1")
    print("  make run")
    print("Requests are printed here as they arrive (Ctrl-C to stop).")
    seen = 0
    try:
        while True:
            time.sleep(0.5)
            for request in wallet.requests[seen:]:
                print(request.method, request.path, json.dumps(request.body)[:200] if request.body else "")
            seen = len(wallet.requests)
    except KeyboardInterrupt:
        server.shutdown()


if __name__ == "__main__":
    main()
