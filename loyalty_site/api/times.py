"""One rule for every time the API sends: ISO 8601 in the local time of the request's store, with its offset.

The store is the token's (the store API, a store token's ``expires_at``);
where a request is about no store (the platform-admin API) times are in the
site's ``TIME_ZONE``. A UTC offset is written ``Z``, as DRF writes it.

DRF's ``DateTimeField`` renders in Django's current time zone, which
:class:`StoreLocalTimes` makes the store's for the request; the exception
handler renders the ``datetime`` details of domain errors (``next_stamp_
available_at``, ``locked_until``) with :func:`api_time`, the same field, so
an answer and an error never disagree about how an instant is written.
"""

from contextlib import contextmanager
from datetime import datetime

from django.utils import timezone
from rest_framework import serializers

_FIELD = serializers.DateTimeField()


def api_time(value: datetime) -> str:
    """``value`` as the API writes a time, in the current (the request's store's) time zone."""
    return _FIELD.to_representation(value)


@contextmanager
def store_local_times(store):
    """Times rendered inside are in ``store``'s zone (the site's ``TIME_ZONE`` for ``None``)."""
    with timezone.override(store.zone if store is not None else None):
        yield


class StoreLocalTimes:
    """APIView mixin: the request's times are in its token's store's zone, errors included."""

    def initial(self, request, *args, **kwargs):
        super().initial(request, *args, **kwargs)
        store = getattr(request.auth, "store", None)
        if store is not None:
            timezone.activate(store.zone)

    def finalize_response(self, request, response, *args, **kwargs):
        try:
            return super().finalize_response(request, response, *args, **kwargs)
        finally:
            # The answer's times are already strings; the next request on this thread starts afresh.
            timezone.deactivate()
