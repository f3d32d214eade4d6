"""What the customer's card page shows is what the till's scanner finds."""

import re

import pytest
from rest_framework.test import APIClient

from loyalty.models import LoyaltyCard
from tests import factories

from .conftest import join_data

pytestmark = pytest.mark.django_db


def test_a_card_made_on_the_join_page_is_found_by_the_scanner_lookup_with_its_qr_data(client, store, program):
    # given: a customer enrolls on the join page
    response = client.post(f"/fr/join/{store.code}/", join_data(), follow=True)
    card = LoyaltyCard.objects.get(customer__email="lea.muller@example.com")
    page = response.content.decode()
    assert "<svg" in page and card.card_number in re.sub(r"\s", "", page)

    # when: the till scans the QR (its data) and looks it up through the store API
    factories.make_user("staff", store.merchant, stores=[store], username="till", password="till-pass-2026")
    api = APIClient()
    token = api.post(
        "/api/v1/auth/token", {"username": "till", "password": "till-pass-2026", "store_code": store.code}, format="json"
    ).json()["token"]
    api.credentials(HTTP_AUTHORIZATION=f"Token {token}")
    found = api.post("/api/v1/store/loyalty/cards/lookup", {"qr_code": card.qr_code_data}, format="json")

    # then: it is that card, with "0 / 10" on the page and 0 stamps at the till
    assert found.status_code == 200, found.content
    assert found.json()["card"]["card_number"] == card.card_number
    assert "0 / 10" in page
