"""Request fields of the API: DRF's own, never repeating the client's input in an error.

Every request serializer (``*Request``, ``*Query``) uses these instead of
DRF's; ``tests/api/test_request_fields.py`` holds the line.

- ``ChoiceField``: DRF answers ``'"<input>" is not a valid choice.'``. The
  input is whatever the client sent: a lone surrogate in it made the answer
  impossible to encode (a 500), and a long or hostile string would be
  repeated into answers and logs. The allowed values are in the OpenAPI
  document.
"""

from django.utils.translation import gettext_lazy as _
from rest_framework import serializers


class ChoiceField(serializers.ChoiceField):
    default_error_messages = {"invalid_choice": _("This is not one of the allowed values.")}
