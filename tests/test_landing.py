"""The page at /: everything a newcomer needs in development, the back-office link only in production."""

import io

import pytest
from django.core.management import call_command

from loyalty.management.commands.loyalty_demo import ADMIN, BAKERY, CAFE
from loyalty.models import Store
from tests import factories
from tests.test_csp import assert_strict_policy

pytestmark = pytest.mark.django_db

DEMO_LOGINS = [ADMIN, *CAFE["users"], *BAKERY["users"]]


@pytest.fixture
def demo(settings):
    """The demo's merchants and stores, as the command names them (the page reads nothing else)."""
    settings.DEBUG = True
    for spec in (CAFE, BAKERY):
        merchant = factories.make_merchant(spec["name"], slug=spec["slug"])
        for code, name, _address in spec["stores"]:
            factories.make_store(merchant, code=code, name=name)


@pytest.fixture
def loaded_demo(settings):
    settings.DEBUG = True
    call_command("loyalty_demo", "--json", stdout=io.StringIO())


def test_development_page_links_everything_and_shows_the_demo(client, loaded_demo):
    response = client.get("/")

    assert response.status_code == 200
    page = response.content.decode()
    assert_strict_policy(response)
    assert 'href="/admin/"' in page and 'href="/api/docs"' in page
    for code in ("demo-center", "demo-station", "other-bakery"):
        assert f'href="/join/{code}/"' in page
    for login in DEMO_LOGINS:
        assert f"<code>{login['username']}</code>" in page and f"<code>{login['password']}</code>" in page
    for _code, _name, pin in CAFE["pins"] + BAKERY["pins"]:
        assert f"<code>{pin}</code>" in page
    assert "Platform administrator" in page and "Owner" in page and "Staff" in page
    assert 'href="/till/"' in page


def test_an_inactive_demo_store_is_not_linked(client, demo):
    Store.objects.filter(code="demo-station").update(is_active=False)
    page = client.get("/").content.decode()
    assert 'href="/join/demo-center/"' in page and "/join/demo-station/" not in page


def test_development_page_before_the_demo_is_loaded_says_how(client, settings):
    settings.DEBUG = True
    page = client.get("/").content.decode()
    assert "python manage.py loyalty_demo" in page
    assert "/join/" not in page and ADMIN["password"] not in page


def test_production_page_has_the_back_office_link_only(client, demo, settings):
    settings.DEBUG = False
    # even with the demo data in the database

    response = client.get("/")

    assert response.status_code == 200
    assert_strict_policy(response)
    page = response.content.decode()
    assert 'href="/admin/"' in page
    assert "/api/docs" not in page and "/till/" not in page and "/join/" not in page
    for login in DEMO_LOGINS:
        assert f"<code>{login['username']}</code>" not in page and login["password"] not in page
    for _code, _name, pin in CAFE["pins"] + BAKERY["pins"]:
        assert f"<code>{pin}</code>" not in page
    assert "<table" not in page and "DEBUG" not in page


@pytest.mark.parametrize(
    ("prefix", "language", "back_office", "demo_heading"),
    [
        ("", "en", "Back office", "Demo logins"),
        ("/fr", "fr", "Administration", "Comptes de démonstration"),
        ("/de", "de", "Verwaltung", "Demo-Zugänge"),
        ("/lb", "lb", "Verwaltung", "Demo-Zougäng"),
    ],
)
def test_the_page_is_translated(client, demo, prefix, language, back_office, demo_heading):
    response = client.get(f"{prefix}/")
    assert response.status_code == 200
    page = response.content.decode()
    assert f'<html lang="{language}"' in page
    assert back_office in page and demo_heading in page
    assert f'href="{prefix}/join/demo-center/"' in page  # join links stay in the page's language


def test_the_development_page_is_one_query(client, demo, django_assert_num_queries):
    with django_assert_num_queries(1):  # the demo stores; logins and PINs come from the command's data
        client.get("/")
