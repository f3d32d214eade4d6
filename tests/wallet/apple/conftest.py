"""Fixtures of the Apple Wallet tests: a dev certificate chain, settings that turn Apple Wallet on,
and a local APNs stand-in (hypercorn, HTTP/2 over TLS with a server certificate from the dev CA)."""

import asyncio
import json
import socket
import ssl
import threading
import time
from typing import ClassVar

import pytest
from cryptography import x509
from cryptography.hazmat.primitives import serialization
from cryptography.x509.oid import NameOID

from tests.support.resources import free_port
from wallet.apple import apns
from wallet.apple.dev_certs import DEV_PASS_TYPE_IDENTIFIER, DEV_TEAM_IDENTIFIER, dev_certs_generate, issue_certificate
from wallet.apple.selectors import PASS_SOURCE_READERS, pass_source_reader

SITE_URL = "https://loyalty.example.test"


@pytest.fixture(scope="session")
def dev_certificates(tmp_path_factory):
    return dev_certs_generate(directory=tmp_path_factory.mktemp("wallet-dev"))


@pytest.fixture
def apple_settings(settings, dev_certificates):
    """Apple Wallet on, signing with the dev chain; APNs points nowhere until ``apns_server`` is used."""
    settings.SITE_URL = SITE_URL
    settings.LOYALTY_APPLE_PASS_TYPE_ID = DEV_PASS_TYPE_IDENTIFIER
    settings.LOYALTY_APPLE_TEAM_ID = DEV_TEAM_IDENTIFIER
    settings.LOYALTY_APPLE_SIGNER_CERT_PATH = str(dev_certificates.signer_cert)
    settings.LOYALTY_APPLE_SIGNER_KEY_PATH = str(dev_certificates.signer_key)
    settings.LOYALTY_APPLE_SIGNER_KEY_PASSWORD = ""
    settings.LOYALTY_APPLE_WWDR_CERT_PATH = str(dev_certificates.wwdr_cert)
    settings.LOYALTY_APPLE_APNS_HOST = "localhost"
    settings.LOYALTY_APPLE_APNS_PORT = free_port()  # nothing listens: a push would fail loudly
    settings.LOYALTY_APPLE_APNS_AUTH = "certificate"
    settings.LOYALTY_APPLE_APNS_CA_PATH = str(dev_certificates.ca_cert)
    settings.LOYALTY_APPLE_APNS_TIMEOUT_SECONDS = 5.0
    yield settings
    apns.apns_clients_close()


@pytest.fixture
def apple_off(settings):
    for name in ("PASS_TYPE_ID", "TEAM_ID", "SIGNER_CERT_PATH", "SIGNER_KEY_PATH", "WWDR_CERT_PATH"):
        setattr(settings, f"LOYALTY_APPLE_{name}", "")
    yield settings
    apns.apns_clients_close()


class FakeApns:
    """An ASGI app answering like APNs and recording every request.

    ``answers`` maps a push token to a list of statuses to give in turn
    (the last one repeats); other tokens get 200.
    """

    REASONS: ClassVar[dict[int, str]] = {
        400: "BadDeviceToken",
        403: "InvalidProviderToken",
        410: "Unregistered",
        429: "TooManyRequests",
        500: "InternalServerError",
        503: "ServiceUnavailable",
    }

    def __init__(self):
        self.requests = []
        self.answers = {}
        self._lock = threading.Lock()

    def reset(self):
        with self._lock:
            self.requests.clear()
            self.answers.clear()

    def _status_for(self, token):
        with self._lock:
            statuses = self.answers.get(token)
            if not statuses:
                return 200
            return statuses.pop(0) if len(statuses) > 1 else statuses[0]

    async def __call__(self, scope, receive, send):
        if scope["type"] == "lifespan":
            while True:
                message = await receive()
                if message["type"] == "lifespan.startup":
                    await send({"type": "lifespan.startup.complete"})
                elif message["type"] == "lifespan.shutdown":
                    await send({"type": "lifespan.shutdown.complete"})
                    return
        body = b""
        while True:
            message = await receive()
            body += message.get("body", b"")
            if not message.get("more_body"):
                break
        headers = {name.decode(): value.decode() for name, value in scope["headers"]}
        token = scope["path"].rsplit("/", 1)[-1]
        status = self._status_for(token)
        with self._lock:
            self.requests.append(
                {
                    "method": scope["method"],
                    "path": scope["path"],
                    "http_version": scope["http_version"],
                    "client_port": scope["client"][1],
                    "topic": headers.get("apns-topic"),
                    "authorization": headers.get("authorization"),
                    "body": body,
                    "status": status,
                }
            )
        payload = b"" if status == 200 else json.dumps({"reason": self.REASONS.get(status, "Error")}).encode()
        await send({"type": "http.response.start", "status": status, "headers": [(b"apns-id", b"test")]})
        await send({"type": "http.response.body", "body": payload})


def _server_certificate(dev_certificates, directory):
    from cryptography.hazmat.primitives.asymmetric import ec

    ca_cert = x509.load_pem_x509_certificate(dev_certificates.ca_cert.read_bytes())
    ca_key = serialization.load_pem_private_key(dev_certificates.ca_key.read_bytes(), password=None)
    server_key = ec.generate_private_key(ec.SECP256R1())
    server_cert = issue_certificate(
        subject=x509.Name([x509.NameAttribute(NameOID.COMMON_NAME, "localhost")]),
        public_key=server_key.public_key(),
        issuer_cert=ca_cert,
        issuer_key=ca_key,
        is_ca=False,
        days=2,
        dns_names=["localhost"],
    )
    (directory / "server.pem").write_bytes(server_cert.public_bytes(serialization.Encoding.PEM))
    (directory / "server.key").write_bytes(
        server_key.private_bytes(
            serialization.Encoding.PEM, serialization.PrivateFormat.PKCS8, serialization.NoEncryption()
        )
    )
    return directory / "server.pem", directory / "server.key"


def _start_fake_apns(dev_certificates, directory, *, require_client_certificate: bool):
    from hypercorn.asyncio import serve
    from hypercorn.config import Config

    certfile, keyfile = _server_certificate(dev_certificates, directory)
    port = free_port()
    config = Config()
    config.bind = [f"127.0.0.1:{port}"]
    config.certfile = str(certfile)
    config.keyfile = str(keyfile)
    config.alpn_protocols = ["h2"]
    config.accesslog = None
    config.errorlog = None
    if require_client_certificate:
        # Certificate auth: the handshake fails unless the client presents a certificate of the dev chain.
        # Like APNs, the server knows the intermediate: the client presents only its own certificate.
        bundle = directory / "client-trust.pem"
        bundle.write_bytes(dev_certificates.ca_cert.read_bytes() + dev_certificates.wwdr_cert.read_bytes())
        config.ca_certs = str(bundle)
        config.verify_mode = ssl.CERT_REQUIRED
    app = FakeApns()
    app.port = port
    loop = asyncio.new_event_loop()
    stop = asyncio.Event()

    def run():
        asyncio.set_event_loop(loop)
        loop.run_until_complete(serve(app, config, shutdown_trigger=stop.wait))

    thread = threading.Thread(target=run, name=f"fake-apns-{port}", daemon=True)
    thread.start()
    deadline = time.monotonic() + 10
    while time.monotonic() < deadline:
        try:
            socket.create_connection(("127.0.0.1", port), timeout=0.2).close()
            break
        except OSError:
            time.sleep(0.05)

    def shutdown():
        loop.call_soon_threadsafe(stop.set)
        thread.join(timeout=5)

    return app, shutdown


@pytest.fixture(scope="session")
def _apns_server(dev_certificates, tmp_path_factory):
    app, shutdown = _start_fake_apns(dev_certificates, tmp_path_factory.mktemp("apns"), require_client_certificate=True)
    yield app
    shutdown()


@pytest.fixture(scope="session")
def _apns_token_server(dev_certificates, tmp_path_factory):
    app, shutdown = _start_fake_apns(
        dev_certificates, tmp_path_factory.mktemp("apns-token"), require_client_certificate=False
    )
    yield app
    shutdown()


@pytest.fixture
def apns_server(_apns_server, apple_settings):
    """The local APNs, reset, with settings pointing at it (certificate auth with the pass certificate)."""
    _apns_server.reset()
    apns.apns_clients_close()
    apple_settings.LOYALTY_APPLE_APNS_PORT = _apns_server.port
    yield _apns_server
    apns.apns_clients_close()


@pytest.fixture
def apns_token_server(_apns_token_server, apple_settings, tmp_path):
    """The local APNs (no client certificate), with settings for token auth and the public key to check the JWT."""
    from cryptography.hazmat.primitives.asymmetric import ec

    key = ec.generate_private_key(ec.SECP256R1())
    key_path = tmp_path / "AuthKey_TESTKEY123.p8"
    key_path.write_bytes(
        key.private_bytes(serialization.Encoding.PEM, serialization.PrivateFormat.PKCS8, serialization.NoEncryption())
    )
    _apns_token_server.reset()
    apns.apns_clients_close()
    apple_settings.LOYALTY_APPLE_APNS_PORT = _apns_token_server.port
    apple_settings.LOYALTY_APPLE_APNS_AUTH = "token"
    apple_settings.LOYALTY_APPLE_APNS_KEY_PATH = str(key_path)
    apple_settings.LOYALTY_APPLE_APNS_KEY_ID = "TESTKEY123"
    apple_settings.LOYALTY_APPLE_APNS_TEAM_ID = "TEAMTOKEN1"
    _apns_token_server.public_key = key.public_key()
    yield _apns_token_server
    apns.apns_clients_close()


def unzip(package: bytes) -> dict[str, bytes]:
    import io
    import zipfile

    with zipfile.ZipFile(io.BytesIO(package)) as archive:
        return {name: archive.read(name) for name in archive.namelist()}


@pytest.fixture(params=sorted(PASS_SOURCE_READERS))
def each_pass_source_reader(request, monkeypatch):
    """Run the test once with the hand-written SQL read of a pass's source and once with its ORM twin."""
    monkeypatch.setitem(pass_source_reader, "read", PASS_SOURCE_READERS[request.param])
    return request.param
