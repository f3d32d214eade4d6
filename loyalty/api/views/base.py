"""What every loyalty API view shares: validating input and mapping actions to permissions."""

from drf_spectacular.utils import extend_schema
from rest_framework import viewsets

from loyalty.api.context import actor_from_request
from loyalty.api.permissions import IsStoreMember
from loyalty.api.throttling import ScanThrottle
from loyalty_site.api.times import StoreLocalTimes


def validated(serializer_class, data, **kwargs) -> dict:
    """Run a request serializer; a malformed body or query string is a 400 VALIDATION_ERROR."""
    serializer = serializer_class(data=data, **kwargs)
    serializer.is_valid(raise_exception=True)
    return serializer.validated_data


@extend_schema(tags=["store"])
class StoreViewSet(StoreLocalTimes, viewsets.GenericViewSet):
    """Scanner API: a store token; every action scoped to the token's merchant through ``self.actor``.

    Times in answers and errors are in the token's store's zone (``loyalty_site/api/times.py``).

    ``action_permissions`` names stricter permissions per action (owner, manager).
    """

    permission_classes = [IsStoreMember]
    throttle_classes = [ScanThrottle]
    action_permissions: dict = {}
    lookup_value_regex = r"[0-9]{1,18}"  # ids only: anything else is a JSON 404, not a database error

    def get_permissions(self):
        classes = self.action_permissions.get(self.action, self.permission_classes)
        return [permission() for permission in classes]

    @property
    def actor(self):
        if not hasattr(self, "_actor"):
            self._actor = actor_from_request(self.request)
        return self._actor

    def paginated(self, queryset, serializer_class):
        page = self.paginate_queryset(queryset)
        return self.get_paginated_response(serializer_class(page, many=True).data)
