"""The printable store poster."""

import re
from pathlib import Path

import pytest
from django.conf import settings

from tests.pages.conftest import LANGUAGES, prefixed

PITCH = {
    "en": "Your loyalty card on your phone: free, no app, in under a minute.",
    "fr": "Votre carte de fidélité sur votre téléphone : gratuite, sans application, en moins d'une minute.",
    "de": "Ihre Treuekarte auf dem Telefon: kostenlos, ohne App, in weniger als einer Minute.",
    "lb": "Är Treiekaart um Telefon: gratis, ouni App, a manner wéi enger Minutt.",
}


@pytest.mark.parametrize("language", LANGUAGES)
def test_poster_has_the_pitch_and_a_qr_code_of_the_join_url(client, store, program, language, settings):
    settings.SITE_URL = "https://loyalty.example.com"

    response = client.get(prefixed(language, f"/join/{store.code}/poster/"))

    assert response.status_code == 200
    body = response.content.decode()
    assert PITCH[language] in body
    # The unprefixed URL: each phone that scans it is sent on to its own language.
    assert f"https://loyalty.example.com/join/{store.code}/" in body
    assert re.search(r'<svg class="qr" role="img"', body)
    assert "Free coffee" in body


def test_the_stylesheet_prints_the_poster_on_a4():
    css = (Path(settings.BASE_DIR) / "static" / "loyalty" / "pages.css").read_text()

    assert "@page { size: A4 portrait" in css
    assert "@media print" in css


def test_unknown_store_poster_is_404(client, store, program):
    assert client.get("/join/nowhere/poster/").status_code == 404


def test_poster_of_an_inactive_store_is_not_printed(client, store, program):
    store.is_active = False
    store.save()

    response = client.get(f"/join/{store.code}/poster/")

    assert response.status_code == 200
    assert 'class="qr"' not in response.content.decode()
