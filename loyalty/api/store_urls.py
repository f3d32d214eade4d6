"""``/api/v1/store/loyalty/``: the scanner app's API (no trailing slashes, no redirects)."""

from django.urls import path
from rest_framework.routers import SimpleRouter

from loyalty.api.views import store

router = SimpleRouter(trailing_slash=False)
router.register("pins", store.StaffPinViewSet, basename="store-pin")
router.register("cards", store.CardViewSet, basename="store-card")
router.register("transactions", store.TransactionViewSet, basename="store-transaction")

program = store.ProgramViewSet.as_view(
    {"get": "retrieve", "post": "create", "patch": "partial_update", "delete": "destroy"}
)
operations = store.OperationViewSet

urlpatterns = [
    path("program", program, name="store-program"),
    path("stats", store.StatsViewSet.as_view({"get": "program"}), name="store-stats"),
    path("stats/merchant", store.StatsViewSet.as_view({"get": "merchant"}), name="store-stats-merchant"),
    path("stamp", operations.as_view({"post": "stamp"}), name="store-stamp"),
    path("stamp/redeem", operations.as_view({"post": "stamp_redeem"}), name="store-stamp-redeem"),
    path("stamp/void", operations.as_view({"post": "stamp_void"}), name="store-stamp-void"),
    path("points/earn", operations.as_view({"post": "points_earn"}), name="store-points-earn"),
    path("points/redeem", operations.as_view({"post": "points_redeem"}), name="store-points-redeem"),
    path("points/void", operations.as_view({"post": "points_void"}), name="store-points-void"),
    *router.urls,
]
