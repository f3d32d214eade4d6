"""The hourly job ``loyalty.sync_wallet_passes``: what a failed live update missed reaches Google later."""

import pytest

from loyalty.domain.cards import CardRef
from loyalty.models import LoyaltyCard
from loyalty.services.stamps import stamp_add
from loyalty.tasks import sync_wallet_passes
from wallet.google.services import google_save_url

from .fake_google import ISSUER_ID

pytestmark = pytest.mark.django_db


@pytest.fixture
def saved_card(google_wallet, card):
    google_save_url(card=card)
    google_wallet.requests.clear()
    return card


def _patched_balances(google_wallet):
    return [body["loyaltyPoints"]["balance"]["string"] for body in google_wallet.bodies("PATCH") if "loyaltyPoints" in body]


def test_a_card_marked_out_of_date_is_patched_by_the_hourly_job_and_unmarked(
    google_wallet, saved_card, actor, django_capture_on_commit_callbacks
):
    # given: Google is down when the stamp is given, so the live update fails and marks the card
    google_wallet.answer_next("PATCH", "loyaltyObject", status=503)  # eager: one attempt, then marked
    with django_capture_on_commit_callbacks(execute=True):
        stamp_add(actor=actor, card_ref=CardRef(card_id=saved_card.pk))
    assert LoyaltyCard.objects.get(pk=saved_card.pk).wallet_needs_sync is True

    # when: Google is back and the hourly job runs (as the beat schedule would enqueue it)
    result = sync_wallet_passes.delay().get()

    # then
    assert result == {"synced": 1, "failed": 0}
    assert LoyaltyCard.objects.get(pk=saved_card.pk).wallet_needs_sync is False
    assert _patched_balances(google_wallet)[-1] == "1/10"
    assert google_wallet.resources[f"loyaltyObject/{ISSUER_ID}.loyalty-card-{saved_card.pk}"]["loyaltyPoints"][
        "balance"
    ] == {"string": "1/10"}


def test_a_card_still_failing_stays_marked_for_the_next_run(
    google_wallet, saved_card, actor, django_capture_on_commit_callbacks
):
    google_wallet.answer_next("PATCH", "loyaltyObject", status=500, times=2)  # the live update and the hourly run
    with django_capture_on_commit_callbacks(execute=True):
        stamp_add(actor=actor, card_ref=CardRef(card_id=saved_card.pk))

    result = sync_wallet_passes.delay().get()

    assert result == {"synced": 0, "failed": 1}
    assert LoyaltyCard.objects.get(pk=saved_card.pk).wallet_needs_sync is True


def test_the_job_is_bounded_per_run(google_wallet, store, program):
    from tests import factories

    cards = [factories.make_card(store) for _ in range(3)]
    LoyaltyCard.objects.filter(pk__in=[card.pk for card in cards]).update(wallet_needs_sync=True)

    assert sync_wallet_passes.delay(max_cards=2).get()["synced"] == 2
    assert LoyaltyCard.objects.filter(wallet_needs_sync=True).count() == 1
    assert sync_wallet_passes.delay(max_cards=2).get()["synced"] == 1
    assert LoyaltyCard.objects.filter(wallet_needs_sync=True).count() == 0
