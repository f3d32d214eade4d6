"""The admin index: a merchant's dashboard with an inline SVG chart, or the platform's."""

import re

import pytest
from django.contrib.auth import get_user_model
from django.core.management import call_command
from django.urls import reverse

from loyalty.models import Merchant
from loyalty.selectors.stats import merchant_stats
from tests.admin.conftest import logged_in

pytestmark = pytest.mark.django_db


@pytest.fixture
def demo(settings):
    settings.DEBUG = True
    settings.PASSWORD_HASHERS = ["django.contrib.auth.hashers.MD5PasswordHasher"]
    call_command("loyalty_demo", verbosity=0)
    return get_user_model().objects


def test_demo_owner_sees_the_cafes_figures_chart_and_stores_and_nothing_of_the_bakery(demo):
    response = logged_in(demo.get(username="cafe-owner")).get(reverse("admin:index"))
    assert response.status_code == 200
    page = response.content.decode()
    stats = merchant_stats(merchant=Merchant.objects.get(slug="demo-cafe"))
    assert "Demo Café" in page
    assert f"<b>{stats['cards_total']}</b><span>cards</span>" in page
    assert f"<b>{stats['points_outstanding']}</b><span>points outstanding</span>" in page
    assert page.count('<svg class="bo-chart"') == 3
    assert len(re.findall(r"<rect [^>]*>", page)) == 90  # 30 days × stamps, points, new cards
    assert "Demo Café — Centre" in page and "Demo Café — Gare" in page
    assert "Other Bakery" not in page
    assert '<script src="http' not in page  # nothing from a CDN


def test_demo_manager_sees_the_table_row_of_their_store_only(demo):
    page = logged_in(demo.get(username="cafe-manager")).get(reverse("admin:index")).content.decode()
    table = page.split('id="bo-store-table"')[1]
    assert "Demo Café — Centre" in table and "Demo Café — Gare" not in table


def test_platform_admin_sees_platform_figures_and_every_merchant(demo):
    page = logged_in(demo.get(username="admin")).get(reverse("admin:index")).content.decode()
    assert "active merchants" in page
    assert "Demo Café" in page and "Other Bakery" in page
    assert "Admin audit log" in page


def test_demo_staff_account_cannot_log_in(demo, client):
    response = client.post(reverse("admin:login"), {"username": "cafe-staff", "password": "staff-demo-2026"})
    assert response.status_code == 200 and "Please enter the correct" in response.content.decode()


def test_demo_owner_logs_in_with_the_demo_password(demo, client):
    response = client.post(
        reverse("admin:login"), {"username": "cafe-owner", "password": "owner-demo-2026", "next": "/admin/"}
    )
    assert response.status_code == 302
    assert client.get(reverse("admin:index")).status_code == 200


def test_demo_owner_finds_the_staged_staff_favourite_alert_and_follows_it(demo):
    from loyalty.models import Alert, AlertRule

    alert = Alert.objects.get(merchant__slug="demo-cafe")
    assert alert.rule == AlertRule.STAFF_FAVOURITE
    assert alert.staff_pin.name == "Sam (till 2)" and alert.card.customer.email == "luc.hoffmann@example.com"
    assert alert.evidence["card_operations"] == 8 and alert.evidence["operations"] == 12
    owner = logged_in(demo.get(username="cafe-owner"))
    assert "1 open alert" in owner.get(reverse("admin:index")).content.decode()
    detail = owner.get(reverse("admin:loyalty_alert_change", args=[alert.pk])).content.decode()
    assert reverse("admin:staff_staffpin_change", args=[alert.staff_pin_id]) in detail
    assert reverse("admin:loyalty_loyaltycard_change", args=[alert.card_id]) in detail
    # Loading the demo again stages nothing twice.
    call_command("loyalty_demo", verbosity=0)
    assert Alert.objects.filter(merchant__slug="demo-cafe").count() == 1
