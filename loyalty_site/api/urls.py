from django.urls import include, path, re_path
from drf_spectacular.views import SpectacularSwaggerView

from loyalty_site.api.exceptions import api_not_found
from loyalty_site.api.schema import SchemaView

urlpatterns = [
    path("schema", SchemaView.as_view(), name="api-schema"),
    path("docs", SpectacularSwaggerView.as_view(url_name="api-schema"), name="api-docs"),
    path("v1/auth/", include("staff.api.urls")),
    path("v1/store/loyalty/", include("loyalty.api.store_urls")),
    path("v1/admin/loyalty/", include("loyalty.api.admin_urls")),
    # Apple's PassKit web service and pass downloads, then Google's save links,
    # before the public API that shares the /v1/loyalty/ prefix.
    path("v1/loyalty/", include("wallet.apple.urls")),
    path("v1/loyalty/", include("wallet.google.urls")),
    path("v1/loyalty/", include("loyalty.api.public_urls")),
    # Last: any other /api/ path is a JSON 404, whatever DEBUG says, and never
    # an APPEND_SLASH redirect (a POST must not be redirected).
    re_path(r"^.*$", api_not_found, name="api-not-found"),
]
