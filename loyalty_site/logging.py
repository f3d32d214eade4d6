"""Structured logging: one JSON object per line, with secrets redacted.

Code logs events with ``logger.info("stamp.added", extra={"card_id": ...})``.
The filter below is the safety net behind the rule that no PIN, token,
password, hash or key is ever logged: it blanks any extra field whose name
says it is a secret and masks credentials in free text (``Authorization``
header values, ``pin=`` pairs).
"""

import json
import logging
import re
import socket
from datetime import UTC, datetime

from django.http import HttpRequest

SECRET_FIELD = re.compile(r"(pin|password|passwd|token|secret|authorization|hash|private|api_key|key_pem)", re.I)
SECRET_TEXT = [
    (re.compile(r"\b(Token|Bearer|ApplePass)\s+[A-Za-z0-9._~+/=-]+"), r"\1 [redacted]"),
    # URLs whose path carries a bearer secret: the card page token, Google save
    # links, Apple pass serials (django.request logs the path of a 404).
    (re.compile(r"(/card/|/passes/google/|/passes/apple/)[A-Za-z0-9_-]{8,}"), r"\1[redacted]"),
    (re.compile(r"(/(?:registrations|passes)/pass\.[A-Za-z0-9.-]+/)[A-Za-z0-9_-]{8,}"), r"\1[redacted]"),
    (re.compile(r"(/3/device/)[A-Fa-f0-9]{8,}"), r"\1[redacted]"),  # an APNs URL ends with a push token
    (re.compile(r"((?:pin|password|token|secret)[\"']?\s*[:=]\s*[\"']?)[^\s,&\"'}]+", re.I), r"\1[redacted]"),
]
REDACTED = "[redacted]"

_RESERVED = set(vars(logging.LogRecord("", 0, "", 0, "", (), None))) | {"message", "asctime"}


def redact_text(text: str) -> str:
    for pattern, replacement in SECRET_TEXT:
        text = pattern.sub(replacement, text)
    return text


def _redact_value(key, value):
    if SECRET_FIELD.search(str(key)):
        return REDACTED
    if isinstance(value, HttpRequest):
        # Django logs 4xx/5xx with the request; its query string may carry QR data or tokens.
        return redact_text(f"{value.method} {value.path}")
    if isinstance(value, dict):
        return {k: _redact_value(k, v) for k, v in value.items()}
    if isinstance(value, str):
        return redact_text(value)
    return value


class RedactSecretsFilter(logging.Filter):
    def filter(self, record: logging.LogRecord) -> bool:
        try:
            message = record.getMessage()
        except Exception:  # a broken format string must not drop the line
            message = str(record.msg)
        record.msg = redact_text(message)
        record.args = None
        for key in list(vars(record)):
            if key not in _RESERVED:
                setattr(record, key, _redact_value(key, getattr(record, key)))
        return True


class DevelopmentServerFilter(logging.Filter):
    """``runserver``'s request lines (logger ``django.server``): one line per request, with JSON-friendly fields.

    Django logs every 4xx/5xx response on ``django.request`` (as it does
    under gunicorn), so runserver's own line for that response is a repeat
    and is dropped. Its ``request`` field is the connection's socket: it
    becomes the client's address.
    """

    ACCESS_LINE = '"%s" %s %s'  # http.server's log_request format: request line, status, size

    def filter(self, record: logging.LogRecord) -> bool:
        if record.msg == self.ACCESS_LINE and getattr(record, "status_code", 0) >= 400:
            return False
        connection = getattr(record, "request", None)
        if isinstance(connection, socket.socket):
            try:
                peer = connection.getpeername()
            except OSError:  # already closed
                peer = ""
            record.request = peer[0] if isinstance(peer, tuple) else str(peer)  # (host, port, ...) for TCP
        return True


class JsonFormatter(logging.Formatter):
    def format(self, record: logging.LogRecord) -> str:
        event = {
            "time": datetime.fromtimestamp(record.created, tz=UTC).isoformat(timespec="milliseconds"),
            "level": record.levelname,
            "logger": record.name,
            "event": record.getMessage(),
        }
        for key, value in vars(record).items():
            if key not in _RESERVED and not key.startswith("_"):
                event[key] = value
        if record.exc_info:
            event["exception"] = redact_text(self.formatException(record.exc_info))
        return json.dumps(event, default=str, ensure_ascii=False)
