"""Logs are one JSON object per line and never carry a secret."""

import io
import json
import logging
import socket
from contextlib import contextmanager

import pytest

from loyalty_site.logging import JsonFormatter, RedactSecretsFilter


def _format(message, *args, **extra):
    record = logging.LogRecord("test", logging.WARNING, __file__, 1, message, args, None)
    for key, value in extra.items():
        setattr(record, key, value)
    RedactSecretsFilter().filter(record)
    return JsonFormatter().format(record)


def test_a_log_line_is_one_json_object_with_the_extra_fields():
    line = _format("stamp.added", card_id=7, store="demo-center")
    event = json.loads(line)
    assert "\n" not in line
    assert (event["event"], event["card_id"], event["store"], event["level"]) == ("stamp.added", 7, "demo-center", "WARNING")


def test_secret_fields_and_credentials_in_text_are_redacted():
    line = _format(
        "login with Authorization: Token %s and pin=%s",
        "k3yV4lue_abc",
        "1234",
        staff_pin="5678",
        password="hunter2",
        pin_hash="$2b$10$abcdefghijk",
        details={"authentication_token": "apple-secret-token"},
    )
    for secret in ("k3yV4lue_abc", "1234", "5678", "hunter2", "$2b$10$abcdefghijk", "apple-secret-token"):
        assert secret not in line
    assert json.loads(line)["staff_pin"] == "[redacted]"


def test_bearer_urls_are_redacted_in_messages():
    line = _format("Not Found: %s", "/fr/card/Zq8h3kLmN0pQrStU_vWxYz12/")
    assert "Zq8h3kLmN0pQrStU_vWxYz12" not in line
    line = _format("Not Found: /api/v1/loyalty/passes/google/Zq8h3kLmN0pQrStU/save")
    assert "Zq8h3kLmN0pQrStU" not in line


def _handlers_reached(logger: logging.Logger) -> list[logging.Handler]:
    """The configured handlers a record of ``logger`` goes to, walked as ``Logger.callHandlers`` does (not pytest's)."""
    found = []
    while logger is not None:
        found += [handler for handler in logger.handlers if not type(handler).__module__.startswith("_pytest")]
        if not logger.propagate:
            break
        logger = logger.parent
    return found


@contextmanager
def _printed_by_the_configured_handlers(*logger_names):
    """What the handlers the settings configured print for records of these loggers, one string per line."""
    printed = io.StringIO()
    handlers = {
        handler
        for name in logger_names
        for handler in _handlers_reached(logging.getLogger(name))
        if isinstance(handler, logging.StreamHandler)
    }
    streams = [(handler, handler.setStream(printed)) for handler in handlers]
    lines = []
    try:
        yield lines
    finally:
        for handler, stream in streams:
            handler.setStream(stream)
        lines += printed.getvalue().splitlines()


@pytest.fixture
def client_connection():
    """A TCP connection as runserver has one per request (its log records carry the socket)."""
    with socket.create_server(("127.0.0.1", 0)) as listener:
        with socket.create_connection(listener.getsockname()):
            server_side, _ = listener.accept()
            with server_side:
                yield server_side


def test_a_404_under_runserver_is_one_json_line(settings, client_connection):
    # given: the logging the settings configure, in development (Django's own console handler prints only then)
    settings.DEBUG = True
    # when: Django logs the 404 response, then runserver its request line, as they do for one request
    with _printed_by_the_configured_handlers("django.request", "django.server") as lines:
        logging.getLogger("django.request").warning("Not Found: %s", "/nope", extra={"status_code": 404})
        logging.getLogger("django.server").warning(
            '"%s" %s %s', "GET /nope HTTP/1.1", "404", "179", extra={"request": client_connection, "status_code": 404}
        )
    # then
    assert len(lines) == 1, lines
    event = json.loads(lines[0])
    assert (event["logger"], event["level"], event["event"]) == ("django.request", "WARNING", "Not Found: /nope")


def test_a_request_line_of_runserver_is_one_json_line_with_the_client_address(settings, client_connection):
    settings.DEBUG = True
    with _printed_by_the_configured_handlers("django.server") as lines:
        logging.getLogger("django.server").info(
            '"%s" %s %s', "GET /admin/ HTTP/1.1", "200", "5120", extra={"request": client_connection, "status_code": 200}
        )
    assert len(lines) == 1, lines
    event = json.loads(lines[0])
    assert (event["logger"], event["event"], event["request"]) == (
        "django.server",
        '"GET /admin/ HTTP/1.1" 200 5120',
        "127.0.0.1",
    )
