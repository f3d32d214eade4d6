"""A serializer base for the flat request and response bodies of the till's operations."""

import copy

from rest_framework import serializers


class FlatSerializer(serializers.Serializer):
    """A serializer whose declared fields are copied shallowly for each instance.

    DRF deep-copies every declared field of a serializer for each instance it makes, which re-runs
    each field's ``__init__``: two serializers per till operation spent more time on this than on
    the operation's own Python. A field of plain values (numbers, text, times, booleans) keeps
    nothing per request on itself — ``bind`` sets its name and parent on the copy, errors and data
    live on the serializer — so a shallow copy of the declared field serves. A serializer that
    declares a nested serializer or a field with a child (``ListField``, ``DictField``), whose
    child is bound to the declared instance, is deep-copied as DRF does.
    """

    def get_fields(self):
        declared = self._declared_fields
        if not _is_flat(type(self), declared):
            return super().get_fields()
        return {name: copy.copy(field) for name, field in declared.items()}


_FLAT: dict[type, bool] = {}


def _is_flat(serializer_class, declared) -> bool:
    flat = _FLAT.get(serializer_class)
    if flat is None:
        flat = _FLAT[serializer_class] = not any(
            isinstance(field, serializers.BaseSerializer) or hasattr(field, "child") or hasattr(field, "child_relation")
            for field in declared.values()
        )
    return flat
