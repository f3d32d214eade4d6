"""Bench settings: the production settings plus the bench's reference endpoints (bench/urls.py)."""

from loyalty_site.settings import *  # noqa: F403

ROOT_URLCONF = "bench.urls"
