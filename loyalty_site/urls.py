from django.conf import settings
from django.conf.urls.i18n import i18n_patterns
from django.conf.urls.static import static
from django.contrib import admin
from django.urls import include, path

from loyalty_site import health, landing

urlpatterns = [
    # Probes first and outside i18n_patterns: no language prefix, no redirect (README "Health endpoints").
    path("healthz", health.healthz, name="healthz"),
    path("readyz", health.readyz, name="readyz"),
    path("admin/", admin.site.urls),
    path("api/", include("loyalty_site.api.urls")),
    path("i18n/", include("django.conf.urls.i18n")),
    # The staff web app: outside the language prefixes, since its service worker's scope is one path.
    path("till/", include("till.urls")),
]
# The landing page at / (/fr/, /de/, /lb/) and the customer pages: English at /join/..., other
# languages at /fr/join/... etc.
urlpatterns += i18n_patterns(
    path("", landing.landing, name="landing"),
    path("", include("loyalty.urls")),
    prefix_default_language=False,
)

# JSON errors for /api/ paths, Django's own pages elsewhere.
handler404 = "loyalty_site.api.exceptions.handler404"
handler500 = "loyalty_site.api.exceptions.handler500"

if settings.DEBUG:
    # The embedded run serves uploaded logos itself; in production the web server does.
    urlpatterns += static(settings.MEDIA_URL, document_root=settings.MEDIA_ROOT)
