import pytest
from django.core.cache import cache

LANGUAGES = ("en", "fr", "de", "lb")


@pytest.fixture(autouse=True)
def _fresh_cache():
    """The sign-up throttle lives in the cache."""
    cache.clear()
    yield
    cache.clear()


def prefixed(language: str, path: str) -> str:
    return path if language == "en" else f"/{language}{path}"


def join_data(**overrides) -> dict:
    data = {
        "email": "lea.muller@example.com",
        "full_name": "Léa Muller",
        "phone": "",
        "preferred_language": "fr",
        "accept_terms": "on",
        "remarks": "",
    }
    data.update(overrides)
    return {key: value for key, value in data.items() if value is not None}
