"""Card screens: search, filters, read-only history, and actions that go through the domain."""

from datetime import timedelta

import pytest
from django.core import mail
from django.test import Client
from django.urls import reverse
from django.utils import timezone

from loyalty.models import AdminAuditLog, LoyaltyCard, LoyaltyTransaction, TransactionType
from tests.admin.conftest import ledger_sums
from tests.wallet.apple.conftest import apple_settings, dev_certificates  # noqa: F401  (Apple Wallet on)

pytestmark = pytest.mark.django_db

CHANGELIST = "admin:loyalty_loyaltycard_changelist"


def _action(client, action, cards, **extra):
    data = {"action": action, "_selected_action": [card.pk for card in cards], "index": "0", **extra}
    return client.post(reverse(CHANGELIST), data)


def test_search_by_card_number_email_and_name(world, clients):
    client = clients["owner"]
    card = world.alpha.card
    for term in (card.card_number, card.customer.email, card.customer.full_name):
        page = client.get(reverse(CHANGELIST), {"q": term}).content.decode()
        assert card.card_number in page, term
        assert world.alpha.second_store_card.card_number not in page, term


def test_search_matches_words_in_any_order_a_spaced_card_number_and_never_another_merchant(world, clients):
    card = world.alpha.card
    first, *rest = card.customer.full_name.split()
    grouped = " ".join(card.card_number[i : i + 4] for i in range(0, 12, 4))  # "4829 1573 6204" as printed
    for term in (grouped, card.customer.email.split("@")[0].upper(), " ".join([*rest, first])):
        page = clients["owner"].get(reverse(CHANGELIST), {"q": term}).content.decode()
        assert card.card_number in page, term
    beta = world.beta.card
    for term in (beta.card_number, beta.customer.email):
        assert clients["owner"].get(reverse(CHANGELIST), {"q": term}).context["cl"].result_count == 0, term
    found = clients["superuser"].get(reverse(CHANGELIST), {"q": beta.card_number}).context["cl"]
    assert [row.pk for row in found.result_list] == [beta.pk]


def test_filters_by_store_active_and_wallet(world, clients):
    client = clients["owner"]
    in_wallet = client.get(reverse(CHANGELIST), {"has_wallet": "yes"}).content.decode()
    assert world.alpha.card.card_number in in_wallet
    assert world.alpha.second_store_card.card_number not in in_wallet
    no_wallet = client.get(reverse(CHANGELIST), {"has_wallet": "no"}).content.decode()
    assert world.alpha.second_store_card.card_number in no_wallet
    by_store = client.get(
        reverse(CHANGELIST), {"enrolled_store__id__exact": world.alpha.second_store.pk}
    ).content.decode()
    assert world.alpha.second_store_card.card_number in by_store
    assert world.alpha.card.card_number not in by_store
    inactive = client.get(reverse(CHANGELIST), {"is_active__exact": "0"}).content.decode()
    assert world.alpha.card.card_number not in inactive


def test_detail_shows_balances_and_history_read_only(world, clients):
    card = world.alpha.card
    response = clients["owner"].get(reverse("admin:loyalty_loyaltycard_change", args=[card.pk]))
    page = response.content.decode()
    assert response.status_code == 200
    assert "Points earned" in page and "Card enrolled" in page  # the ledger inline
    assert 'name="points_balance"' not in page  # balances are not editable
    assert card.qr_code_data not in page and card.public_token not in page  # bearer credentials stay hidden
    assert 'value="adjust_points"' in page  # action buttons on the card
    assert AdminAuditLog.objects.filter(
        action="view", object_type="loyalty.LoyaltyCard", object_id=str(card.pk)
    ).exists()


def test_owner_adjusts_points_through_the_ledger(world, clients):
    card = world.alpha.card
    before = card.points_balance
    form = _action(clients["owner"], "adjust_points", [card])
    assert form.status_code == 200 and "Points to add" in form.content.decode()
    response = _action(clients["owner"], "adjust_points", [card], apply="1", points_delta="25", reason="Birthday gift")
    assert response.status_code == 302
    card.refresh_from_db()
    assert card.points_balance == before + 25
    row = LoyaltyTransaction.objects.filter(card=card, type=TransactionType.POINTS_ADJUSTED).get()
    assert (row.points_delta, row.notes, row.acting_user) == (25, "Birthday gift", world.owner)
    assert ledger_sums(card) == (card.stamp_count, card.points_balance)


def test_adjustment_below_zero_is_refused_and_changes_nothing(world, clients):
    card = world.alpha.card
    before = (card.points_balance, LoyaltyTransaction.objects.filter(card=card).count())
    response = _action(
        clients["owner"],
        "adjust_points",
        [card],
        apply="1",
        points_delta=str(-(card.points_balance + 1)),
        reason="oops",
    )
    assert response.status_code == 302
    card.refresh_from_db()
    assert (card.points_balance, LoyaltyTransaction.objects.filter(card=card).count()) == before


def test_adjust_form_requires_a_reason_and_a_non_zero_delta(world, clients):
    response = _action(clients["owner"], "adjust_points", [world.alpha.card], apply="1", points_delta="0", reason="")
    assert response.status_code == 200
    page = response.content.decode()
    assert "Enter a number other than 0." in page and "This field is required." in page


def test_manager_cannot_adjust_points(world, clients):
    card = world.alpha.card
    before = card.points_balance
    response = _action(clients["manager"], "adjust_points", [card], apply="1", points_delta="25", reason="x")
    assert response.status_code == 302  # Django answers "No action selected": managers are not offered it
    card.refresh_from_db()
    assert card.points_balance == before
    assert not LoyaltyTransaction.objects.filter(card=card, type=TransactionType.POINTS_ADJUSTED).exists()


def test_deactivate_and_reactivate_write_the_ledger_and_the_audit_log(world, clients):
    card = world.alpha.card
    _action(clients["manager"], "deactivate_cards", [card])
    card.refresh_from_db()
    assert not card.is_active
    assert LoyaltyTransaction.objects.filter(card=card, type=TransactionType.CARD_DEACTIVATED).exists()
    _action(clients["owner"], "reactivate_cards", [card])
    card.refresh_from_db()
    assert card.is_active
    assert LoyaltyTransaction.objects.filter(card=card, type=TransactionType.CARD_REACTIVATED).exists()
    changes = list(
        AdminAuditLog.objects.filter(object_type="loyalty.LoyaltyCard", action="change").values_list(
            "changes", flat=True
        )
    )
    assert {"is_active": [True, False]} in changes and {"is_active": [False, True]} in changes


def test_actions_ignore_cards_of_another_merchant(world, clients):
    other = world.beta.card
    _action(clients["owner"], "deactivate_cards", [other])
    other.refresh_from_db()
    assert other.is_active


def test_resend_card_link_sends_the_customer_an_email(world, clients, django_capture_on_commit_callbacks):
    with django_capture_on_commit_callbacks(execute=True):  # the e-mail leaves after the commit
        _action(clients["owner"], "resend_card_link", [world.alpha.card])
    assert [message.to for message in mail.outbox] == [[world.alpha.card.customer.email]]
    assert AdminAuditLog.objects.filter(
        action="action", object_id=str(world.alpha.card.pk), summary__startswith="card link sent"
    ).exists()


def test_resend_card_link_is_sent_within_the_public_ten_minutes_and_restarts_them(
    world, clients, django_capture_on_commit_callbacks
):
    """The merchant's explicit resend is not held to the public window; a public request right after it is."""
    card = world.alpha.card
    LoyaltyCard.objects.filter(pk=card.pk).update(card_link_sent_at=timezone.now() - timedelta(minutes=1))

    with django_capture_on_commit_callbacks(execute=True):
        _action(clients["owner"], "resend_card_link", [card])
    with django_capture_on_commit_callbacks(execute=True):
        again = Client().post(
            f"/api/v1/loyalty/enroll/{world.alpha.store.code}",
            {"email": card.customer.email, "full_name": "X", "accept_terms": True},
            content_type="application/json",
        )

    assert again.status_code == 202
    assert [message.to for message in mail.outbox] == [[card.customer.email]]
    card.refresh_from_db()
    assert timezone.now() - card.card_link_sent_at < timedelta(seconds=30)


def test_resync_wallet_passes_moves_the_apple_pass_so_devices_fetch_it_again(
    world, clients, apple_settings, django_capture_on_commit_callbacks
):
    from wallet.apple.services import apple_pass_get_or_create

    apple_pass = apple_pass_get_or_create(card=world.alpha.card)
    untouched = apple_pass_get_or_create(card=world.alpha.second_store_card)
    tags = (apple_pass.change_tag, untouched.change_tag)

    with django_capture_on_commit_callbacks(execute=True):
        _action(clients["owner"], "resync_wallet_passes", [world.alpha.card])

    apple_pass.refresh_from_db()
    untouched.refresh_from_db()
    assert apple_pass.change_tag > tags[0]
    assert untouched.change_tag == tags[1]


def test_action_from_the_card_page_returns_to_the_card(world, clients):
    card = world.alpha.card
    url = reverse("admin:loyalty_loyaltycard_change", args=[card.pk])
    response = _action(clients["owner"], "deactivate_cards", [card], next=url)
    assert response["Location"] == url
    external = _action(clients["owner"], "reactivate_cards", [card], next="https://evil.example.com/")
    assert external["Location"] != "https://evil.example.com/"
