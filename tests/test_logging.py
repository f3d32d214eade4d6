"""Logs are one JSON object per line and never carry a secret."""

import json
import logging

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
