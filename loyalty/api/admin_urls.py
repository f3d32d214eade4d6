"""``/api/v1/admin/loyalty/``: platform administrators."""

from django.urls import path
from rest_framework.routers import SimpleRouter

from loyalty.api.views import admin

router = SimpleRouter(trailing_slash=False)
router.register("programs", admin.AdminProgramViewSet, basename="admin-program")
router.register("merchants", admin.AdminMerchantViewSet, basename="admin-merchant")

urlpatterns = [
    path("stats", admin.AdminStatsViewSet.as_view({"get": "platform"}), name="admin-stats"),
    *router.urls,
]
