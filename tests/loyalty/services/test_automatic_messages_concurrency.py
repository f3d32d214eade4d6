"""Overlapping runs of the automatic messages job (PostgreSQL, real threads): one birthday bonus and one
message per card and year, whatever runs together; the ledger still adds up."""

from datetime import UTC, datetime

import pytest
from django.core import mail

from loyalty.domain.cards import CardRef
from loyalty.models import AutomaticMessageDelivery, Customer, LoyaltyTransaction, TransactionType
from loyalty.services.automatic_messages import automatic_messages_run
from loyalty.services.stamps import stamp_add
from loyalty.services.tenancy import merchant_settings_update
from tests import factories
from tests.loyalty.services.ledger_checks import assert_ledger_matches_cards
from tests.loyalty.test_concurrency import run_concurrently

pytestmark = [pytest.mark.postgres, pytest.mark.django_db(transaction=True)]

MORNING = datetime(2026, 6, 15, 8, 0, tzinfo=UTC)  # 10:00 in Luxembourg


def test_overlapping_runs_give_each_birthday_one_bonus_and_one_message(store, program):
    merchant_settings_update(
        actor=factories.owner_actor(store),
        birthday_message_enabled=True,
        birthday_bonus_points=25,
        birthday_bonus_stamps=1,
    )
    cards = [factories.make_card(store, marketing_consent=True) for _ in range(12)]
    Customer.objects.filter(cards__in=cards).update(birthday_month=6, birthday_day=15)
    mail.outbox.clear()

    outcomes = run_concurrently(lambda index: automatic_messages_run(now=MORNING, batch_size=5), count=4)
    # Whatever the runs left (each is bounded), the next ones finish; none gives anything twice.
    for _run in range(3):
        automatic_messages_run(now=MORNING)

    assert not [outcome for outcome in outcomes if isinstance(outcome, Exception)], outcomes
    assert LoyaltyTransaction.objects.filter(type=TransactionType.BONUS).count() == 12
    assert AutomaticMessageDelivery.objects.filter(kind="birthday", status="sent").count() == 12
    assert sorted(message.to[0] for message in mail.outbox) == sorted(card.customer.email for card in cards)
    assert_ledger_matches_cards()


def test_a_bonus_racing_stamps_on_the_same_card_keeps_the_ledger_whole(store, merchant):
    factories.make_program(merchant, loyalty_type="stamps", stamps_target=50, cooldown_minutes=0, max_daily_stamps=100)
    merchant_settings_update(actor=factories.owner_actor(store), birthday_message_enabled=True, birthday_bonus_stamps=3)
    card = factories.make_card(store)
    Customer.objects.filter(pk=card.customer_id).update(birthday_month=6, birthday_day=15)
    actor = factories.till_actor(store)

    def work(index):
        if index % 2:
            return automatic_messages_run(now=MORNING)
        return stamp_add(actor=actor, card_ref=CardRef(card_id=card.pk), now=MORNING.replace(minute=index))

    outcomes = run_concurrently(work, count=6)

    assert not [outcome for outcome in outcomes if isinstance(outcome, Exception)], outcomes
    card.refresh_from_db()
    assert card.stamp_count == 3 + 3  # three stamps, one bonus of three
    assert LoyaltyTransaction.objects.filter(card=card, type=TransactionType.BONUS).count() == 1
    assert_ledger_matches_cards()
