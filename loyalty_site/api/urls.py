from django.urls import include, path

urlpatterns = [
    path("v1/auth/", include("staff.api.urls")),
    path("v1/store/loyalty/", include("loyalty.api.store_urls")),
    path("v1/admin/loyalty/", include("loyalty.api.admin_urls")),
    # Apple's PassKit web service and pass downloads, then Google's save links,
    # before the public API that shares the /v1/loyalty/ prefix.
    path("v1/loyalty/", include("wallet.apple.urls")),
    path("v1/loyalty/", include("wallet.google.urls")),
    path("v1/loyalty/", include("loyalty.api.public_urls")),
]
