"""Request fields of the API: DRF's own, reading numbers in ASCII digits only and never repeating the input.

Every request serializer (``*Request``, ``*Query``) uses these instead of
DRF's; ``tests/api/test_request_fields.py`` holds the line.

- ``IntegerField``: DRF reads a string with ``int()``, which takes the digits
  of every script (``"١٠٠٠"``, ``"１０００"``), underscores (``"1_000"``) and
  Unicode spaces: each booked 1000 cents. A string is read only if it is an
  optionally signed run of ASCII digits (with DRF's ``.0`` suffix, as the JSON
  number 1000.0 is); JSON numbers are read as before.
- ``DateTimeField``: Django's ISO 8601 fallback parser reads ``\\d``, so
  "٢٠٢٦-٠١-٠١T00:00Z" was New Year's Day 2026. Only ASCII text is read.
- ``ChoiceField``: DRF answers ``'"<input>" is not a valid choice.'``. The
  input is whatever the client sent: a lone surrogate in it made the answer
  impossible to encode (a 500), and a long or hostile string would be
  repeated into answers and logs. The allowed values are in the OpenAPI
  document.
"""

import re

from django.utils.translation import gettext_lazy as _
from rest_framework import serializers
from rest_framework.settings import api_settings
from rest_framework.utils import humanize_datetime

_ASCII_INTEGER = re.compile(r"[-+]?[0-9]+(?:\.0*)?")


def is_ascii_digits(value: str) -> bool:
    """True for a non-empty run of 0–9 only (``str.isdigit()`` is also true of "١٢٣" and "²")."""
    return value.isascii() and value.isdigit()


class IntegerField(serializers.IntegerField):
    def to_internal_value(self, data):
        # Longer strings are DRF's "max_string_length" error, before any reading.
        if isinstance(data, str) and len(data) <= self.MAX_STRING_LENGTH and not _ASCII_INTEGER.fullmatch(data):
            self.fail("invalid")
        return super().to_internal_value(data)


class DateTimeField(serializers.DateTimeField):
    def to_internal_value(self, value):
        if isinstance(value, str) and not value.isascii():
            formats = getattr(self, "input_formats", api_settings.DATETIME_INPUT_FORMATS)
            self.fail("invalid", format=humanize_datetime.datetime_formats(formats))
        return super().to_internal_value(value)


class ChoiceField(serializers.ChoiceField):
    default_error_messages = {"invalid_choice": _("This is not one of the allowed values.")}
