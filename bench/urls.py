"""The site's URLs plus the reference endpoints the till figures are divided by (README "Performance").

``bench/constant`` is bare DRF (no authentication, no throttle, no database);
``bench/constant-authenticated`` is the till's own view base — the same token
authentication, store-membership permission and scan throttle as ``stamp`` —
doing no domain work; ``bench/floor/stamp`` and ``bench/floor/earn`` do a
stamp's and an earn's unavoidable work in hand-written SQL (``bench/floor.py``).
Only ``bench.settings`` routes them; the site never does.
"""

from django.urls import path
from rest_framework.decorators import action
from rest_framework.permissions import AllowAny
from rest_framework.response import Response
from rest_framework.views import APIView

from bench.floor import EarnFloorView, StampFloorView
from loyalty.api.views.base import StoreViewSet
from loyalty_site.urls import handler404, handler500  # noqa: F401
from loyalty_site.urls import urlpatterns as site_urlpatterns

CONSTANT = {"ok": True}


class BareConstantView(APIView):
    authentication_classes = []
    permission_classes = [AllowAny]
    throttle_classes = []

    def get(self, request):
        return Response(CONSTANT)


class TillConstantViewSet(StoreViewSet):
    @action(detail=False, methods=["post"])
    def constant(self, request):
        return Response(CONSTANT, status=201)


urlpatterns = [
    path("bench/constant", BareConstantView.as_view()),
    path("bench/constant-authenticated", TillConstantViewSet.as_view({"post": "constant"})),
    path("bench/floor/stamp", StampFloorView.as_view()),
    path("bench/floor/earn", EarnFloorView.as_view()),
    *site_urlpatterns,
]
