"""The site's URLs plus two reference endpoints that return a constant.

They give the limits the till figures are divided by (README "Performance"):
``bench/constant`` is bare DRF (no authentication, no throttle, no database);
``bench/constant-authenticated`` is the till's own view base — the same token
authentication, store-membership permission and scan throttle as ``stamp`` —
doing no domain work. Only ``bench.settings`` routes them; the site never does.
"""

from django.urls import path
from rest_framework.decorators import action
from rest_framework.permissions import AllowAny
from rest_framework.response import Response
from rest_framework.views import APIView

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
    *site_urlpatterns,
]
