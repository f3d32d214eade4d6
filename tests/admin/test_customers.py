"""GDPR in the back office: export a customer's data, erase it while the ledger stays whole."""

import json

import pytest
from django.urls import reverse

from loyalty.domain.actors import Actor, Channel
from loyalty.exceptions import PermissionDenied
from loyalty.models import AdminAuditLog, Customer, LoyaltyTransaction
from loyalty.selectors.stats import merchant_stats
from loyalty.services.customers import customer_erase
from tests.admin.conftest import ledger_sums
from tests.wallet.apple.conftest import apple_settings, dev_certificates  # noqa: F401  (Apple Wallet on)

pytestmark = pytest.mark.django_db


def test_customer_page_shows_consent_with_its_time(world, clients):
    customer = world.alpha.card.customer
    Customer.objects.filter(pk=customer.pk).update(marketing_consent=True, marketing_consent_at="2026-01-15T10:30:00Z")
    page = clients["owner"].get(reverse("admin:loyalty_customer_change", args=[customer.pk])).content.decode()
    assert "Marketing consent given at" in page and "2026" in page
    assert AdminAuditLog.objects.filter(
        action="view", object_type="loyalty.Customer", object_id=str(customer.pk)
    ).exists()


def test_customer_search(world, clients):
    customer = world.alpha.card.customer
    page = clients["owner"].get(reverse("admin:loyalty_customer_changelist"), {"q": customer.email}).content.decode()
    assert customer.email in page
    assert world.alpha.second_store_card.customer.email not in page


def test_export_my_data_is_json_of_customer_cards_and_transactions(world, clients):
    customer = world.alpha.card.customer
    response = clients["owner"].get(reverse("admin:loyalty_customer_export", args=[customer.pk]))
    assert response["Content-Type"] == "application/json"
    assert "attachment" in response["Content-Disposition"]
    data = json.loads(response.content)
    assert data["customer"]["email"] == customer.email
    assert [card["card_number"] for card in data["cards"]] == [world.alpha.card.card_number]
    assert [tx["type"] for tx in data["transactions"]] == ["CARD_ENROLLED", "POINTS_EARNED"]
    assert world.alpha.card.qr_code_data not in response.content.decode()
    assert AdminAuditLog.objects.filter(action="export", object_id=str(customer.pk)).exists()


def test_export_of_another_merchants_customer_is_404(world, clients):
    url = reverse("admin:loyalty_customer_export", args=[world.beta.card.customer.pk])
    assert clients["owner"].get(url).status_code == 404
    # Managers have no customer screens at all.
    assert (
        clients["manager"]
        .get(reverse("admin:loyalty_customer_export", args=[world.alpha.card.customer.pk]))
        .status_code
        == 403
    )


def test_erase_anonymises_the_customer_and_keeps_the_ledgers_numbers(world, clients):
    card = world.alpha.card
    customer = card.customer
    stats_before = merchant_stats(merchant=world.alpha.merchant)
    rows_before = list(
        LoyaltyTransaction.objects.filter(card=card).order_by("pk").values_list("pk", "points_delta", "stamps_delta")
    )
    url = reverse("admin:loyalty_customer_erase", args=[customer.pk])
    confirmation = clients["owner"].get(url)
    assert confirmation.status_code == 200 and "cannot be undone" in confirmation.content.decode()
    response = clients["owner"].post(url)
    assert response.status_code == 302
    customer.refresh_from_db()
    card.refresh_from_db()
    assert customer.erased_at is not None
    assert (customer.full_name, customer.phone, customer.marketing_consent) == ("", "", False)
    assert customer.email == f"erased-{customer.pk}@erased.invalid"
    assert not card.is_active
    rows_after = list(
        LoyaltyTransaction.objects.filter(card=card).order_by("pk").values_list("pk", "points_delta", "stamps_delta")
    )
    assert rows_after[: len(rows_before)] == rows_before  # the old rows untouched, one deactivation row added
    assert ledger_sums(card) == (card.stamp_count, card.points_balance)
    stats_after = merchant_stats(merchant=world.alpha.merchant)
    for figure in ("points_issued", "points_outstanding", "stamps_issued", "cards_total"):
        assert stats_after[figure] == stats_before[figure], figure
    assert AdminAuditLog.objects.filter(action="action", object_id=str(customer.pk)).exists()


def test_erase_is_for_owners_only(world, clients):
    customer = world.alpha.card.customer
    assert clients["manager"].post(reverse("admin:loyalty_customer_erase", args=[customer.pk])).status_code == 403
    assert clients["other_owner"].post(reverse("admin:loyalty_customer_erase", args=[customer.pk])).status_code == 404
    with pytest.raises(PermissionDenied):
        customer_erase(
            actor=Actor(merchant=world.alpha.merchant, role="manager", channel=Channel.ADMIN), customer_id=customer.pk
        )
    customer.refresh_from_db()
    assert customer.erased_at is None


def test_erasing_twice_changes_nothing_more(world):
    actor = Actor(merchant=world.alpha.merchant, role="owner", channel=Channel.ADMIN)
    customer_id = world.alpha.card.customer_id
    customer_erase(actor=actor, customer_id=customer_id)
    count = LoyaltyTransaction.objects.count()
    again = customer_erase(actor=actor, customer_id=customer_id)
    assert again.already_erased and LoyaltyTransaction.objects.count() == count


def test_renaming_a_customer_in_the_back_office_reaches_their_wallet_pass(
    world, clients, apple_settings, django_capture_on_commit_callbacks
):
    from wallet.apple.services import apple_pass_get_or_create

    card = world.alpha.card
    old_name = card.customer.full_name
    apple_pass = apple_pass_get_or_create(card=card)
    tag = apple_pass.change_tag
    url = reverse("admin:loyalty_customer_change", args=[card.customer_id])
    data = {"full_name": "Seán O'Brien", "phone": "", "preferred_language": "fr"}

    with django_capture_on_commit_callbacks(execute=True):
        response = clients["owner"].post(url, data)

    assert response.status_code == 302
    card.customer.refresh_from_db()
    assert (card.customer.full_name, card.customer.preferred_language) == ("Seán O'Brien", "fr")
    apple_pass.refresh_from_db()
    assert apple_pass.change_tag > tag  # the pass showing the name is fetched again
    entry = AdminAuditLog.objects.filter(action="change", object_id=str(card.customer_id)).latest("id")
    assert entry.changes["full_name"] == [old_name, "Seán O'Brien"]
