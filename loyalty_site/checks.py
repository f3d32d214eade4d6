"""System checks of the project's settings (registered by the loyalty app)."""

from django.conf import settings
from django.core import checks

PER_PROCESS_CACHES = {
    "django.core.cache.backends.locmem.LocMemCache": "counted per process",
    "django.core.cache.backends.dummy.DummyCache": "not counted at all",
}


@checks.register(checks.Tags.caches)
def cache_shared_by_processes(app_configs, **kwargs):
    """With DEBUG off, a cache that processes do not share lets each worker grant the whole limit."""
    backend = settings.CACHES["default"]["BACKEND"]
    if settings.DEBUG or backend not in PER_PROCESS_CACHES:
        return []
    return [
        checks.Warning(
            f"Rate limits (logins, sign-ups, API throttles) are {PER_PROCESS_CACHES[backend]} with {backend}.",
            hint="Set CACHE_URL to a shared cache (redis://...) unless the site runs as one single process.",
            id="loyalty_site.W001",
        )
    ]
