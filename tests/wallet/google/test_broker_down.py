"""The broker is down: the till operation still succeeds and the hourly sync catches up later."""

import pytest

from loyalty.domain.cards import CardRef
from loyalty.models import LoyaltyCard
from loyalty.services.stamps import stamp_add
from loyalty.tasks import sync_wallet_passes
from loyalty_site.celery import app
from tests.support.celery import celery_broker
from wallet.google.services import google_save_url

pytestmark = pytest.mark.django_db


@pytest.fixture
def broker_unreachable():
    """Celery configured for a real broker (not eager) that refuses connections."""
    # The discard port: nothing listens there, so every connection is refused.
    with celery_broker("redis://127.0.0.1:9/0", broker_connection_timeout=1):
        yield


def test_a_stamp_succeeds_with_the_broker_down_and_the_hourly_sync_catches_up(
    google_wallet, card, actor, broker_unreachable, django_capture_on_commit_callbacks
):
    google_save_url(card=card)
    google_wallet.requests.clear()

    # when: a stamp is given while nothing can be enqueued
    with django_capture_on_commit_callbacks(execute=True):
        added = stamp_add(actor=actor, card_ref=CardRef(card_id=card.pk))

    # then: the stamp counts, nothing reached Google, the card waits for the sync
    assert added.card.stamp_count == 1
    assert LoyaltyCard.objects.get(pk=card.pk).stamp_count == 1
    assert google_wallet.bodies("PATCH") == []
    assert LoyaltyCard.objects.get(pk=card.pk).wallet_needs_sync is True

    # and when the broker is back, the hourly job brings the wallet up to date
    app.conf.task_always_eager = True
    assert sync_wallet_passes.apply().get() == {"synced": 1, "failed": 0}
    assert google_wallet.bodies("PATCH")[-1]["loyaltyPoints"]["balance"] == {"string": "1/10"}
    assert LoyaltyCard.objects.get(pk=card.pk).wallet_needs_sync is False
