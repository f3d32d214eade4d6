"""``/api/v1/loyalty/``: the public API (storefront and enrollment)."""

from django.urls import path

from loyalty.api.views import public

urlpatterns = [
    path("programs/<slug:store_code>", public.PublicViewSet.as_view({"get": "retrieve"}), name="public-program"),
    path("enroll/<slug:store_code>", public.PublicViewSet.as_view({"post": "enroll"}), name="public-enroll"),
]
