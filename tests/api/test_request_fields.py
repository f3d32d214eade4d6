"""Every request serializer reads choices, numbers and times with the API's own fields, not DRF's.

DRF's ``ChoiceField`` repeats the client's input in its error, and its
``IntegerField`` and ``DateTimeField`` read the digits of any script ("١٠٠٠"
is 1000): a serializer added with one of them would bring that back. Request
serializers are the ones named ``*Request``/``*RequestSerializer`` or ``*Query``.
"""

import re

from rest_framework import serializers

import loyalty.api.serializers
import loyalty.api.views.admin
import staff.api.views
from loyalty_site.api import fields as request_fields

MODULES = [loyalty.api.serializers, loyalty.api.views.admin, staff.api.views]
REQUEST_NAME = re.compile(r".*(Request|RequestSerializer|Query)$")
OURS = {
    serializers.ChoiceField: request_fields.ChoiceField,
    serializers.IntegerField: request_fields.IntegerField,
    serializers.DateTimeField: request_fields.DateTimeField,
}


def _request_serializers():
    for module in MODULES:
        for name, value in vars(module).items():
            is_serializer = isinstance(value, type) and issubclass(value, serializers.Serializer)
            if is_serializer and value.__module__ == module.__name__ and REQUEST_NAME.fullmatch(name):
                yield value


def _fields(serializer):
    for name, field in serializer.fields.items():
        yield name, field
        if isinstance(field, serializers.Serializer):
            yield from _fields(field)
        child = getattr(field, "child", None)
        if child is not None:
            yield f"{name}[]", child


def test_request_serializers_are_found():
    names = {serializer.__name__ for serializer in _request_serializers()}
    assert {"PointsEarnRequest", "PublicEnrollRequest", "TransactionListQuery", "ProgramListQuery"} <= names
    assert "TokenRequestSerializer" in names


def test_no_request_field_is_drfs_own_where_the_api_has_its_own():
    found = []
    for serializer in _request_serializers():
        for name, field in _fields(serializer()):
            if type(field) in OURS:
                found.append(f"{serializer.__name__}.{name}: use {OURS[type(field)].__module__}")
    assert not found, found
