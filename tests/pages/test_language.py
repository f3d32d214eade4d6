"""Which language a customer page speaks: URL prefix, then cookie, then Accept-Language."""

import re

import pytest
from django.conf import settings
from django.utils import translation

from loyalty.views import contrast_ratio, readable_text_colour


def test_luxembourgish_is_a_full_django_language():
    info = translation.get_language_info("lb")

    assert info["name_local"] == "Lëtzebuergesch"
    assert translation.check_for_language("lb")
    with translation.override("lb"):
        assert translation.gettext("Get my card") == "Meng Kaart kréien"
        assert translation.get_language() == "lb"


def test_the_prefix_decides(client, store, program):
    response = client.get(f"/lb/join/{store.code}/", HTTP_ACCEPT_LANGUAGE="fr")

    assert response.status_code == 200
    assert response["Content-Language"] == "lb"


@pytest.mark.parametrize("accept, location", [("de-DE,de;q=0.9,en;q=0.5", "/de/join/"), ("fr-LU", "/fr/join/")])
def test_an_unprefixed_link_follows_the_browser_language(client, store, program, accept, location):
    response = client.get(f"/join/{store.code}/?source=poster", HTTP_ACCEPT_LANGUAGE=accept)

    assert response.status_code == 302
    assert response["Location"] == f"{location}{store.code}/?source=poster"
    assert "Accept-Language" in response["Vary"]


def test_an_english_browser_stays_on_the_unprefixed_page(client, store, program):
    response = client.get(f"/join/{store.code}/", HTTP_ACCEPT_LANGUAGE="en-GB,en;q=0.9")

    assert response.status_code == 200
    assert response["Content-Language"] == "en"


def test_the_switcher_sets_the_cookie_which_then_wins_over_the_browser(client, store, program):
    form = client.get(f"/fr/join/{store.code}/").content.decode()
    next_url = re.search(r'name="next" value="([^"]+)"', form).group(1)
    to_german = client.post("/i18n/setlang/", {"language": "de", "next": next_url})
    assert to_german["Location"] == f"/de/join/{store.code}/"

    switched = client.post("/i18n/setlang/", {"language": "en", "next": next_url})

    assert switched.status_code == 302
    assert switched["Location"] == f"/join/{store.code}/"
    assert switched.cookies[settings.LANGUAGE_COOKIE_NAME].value == "en"
    response = client.get(f"/join/{store.code}/", HTTP_ACCEPT_LANGUAGE="fr")
    assert response.status_code == 200
    assert response["Content-Language"] == "en"


def test_the_switcher_form_offers_all_four_languages(client, store, program):
    body = client.get(f"/de/join/{store.code}/").content.decode()

    assert 'action="/i18n/setlang/"' in body
    for code, name in (("en", "English"), ("fr", "Français"), ("de", "Deutsch"), ("lb", "Lëtzebuergesch")):
        assert f'value="{code}" lang="{code}"' in body
        assert f">{name}</button>" in body
    assert f'name="next" value="/join/{store.code}/"' in body


@pytest.mark.parametrize(
    "background, preferred, expected",
    [
        ("#1F3A5F", "#FFFFFF", "#FFFFFF"),  # the merchant's choice reads well: kept
        ("#F4E04D", "#FFFFFF", "#000000"),  # white on yellow: replaced by black
        ("#5B3A29", "#3A2A20", "#FFFFFF"),  # brown on brown: replaced by white
        ("#777777", "", "#000000"),
    ],
)
def test_text_colour_keeps_wcag_contrast(background, preferred, expected):
    chosen = readable_text_colour(background, preferred)

    assert chosen == expected
    assert contrast_ratio(background, chosen) >= 4.5
