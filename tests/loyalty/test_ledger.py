"""The ledger is append-only, and every card's balances are the sums of its rows."""

from datetime import UTC, datetime, timedelta

import pytest
from django.db import DatabaseError, connection, transaction

from loyalty.domain.cards import CardRef
from loyalty.models import ImmutableRowError, LoyaltyCard, LoyaltyTransaction, Program, TransactionType
from loyalty.services.points import points_adjust, points_earn, points_expire, points_redeem, points_void
from loyalty.services.stamps import stamp_add, stamps_redeem, stamps_void
from tests import factories
from tests.loyalty.services.ledger_checks import assert_ledger_matches_cards, ledger_mismatches

NOW = datetime(2025, 3, 12, 10, 0, tzinfo=UTC)


@pytest.fixture
def row(actor, card):
    return stamp_add(actor=actor, card_ref=CardRef(card_id=card.pk), now=NOW).transaction


def test_model_refuses_to_save_an_existing_row(row):
    row.notes = "rewritten history"
    with pytest.raises(ImmutableRowError):
        row.save()
    row.refresh_from_db()
    assert row.notes == ""


def test_model_refuses_to_delete_a_row(row):
    with pytest.raises(ImmutableRowError):
        row.delete()
    assert LoyaltyTransaction.objects.filter(pk=row.pk).exists()


def test_queryset_refuses_update_and_delete(row):
    with pytest.raises(ImmutableRowError):
        LoyaltyTransaction.objects.filter(pk=row.pk).update(stamps_delta=5)
    with pytest.raises(ImmutableRowError):
        LoyaltyTransaction.objects.all().delete()
    with pytest.raises(ImmutableRowError):
        LoyaltyTransaction.objects.for_merchant(row.merchant).delete()
    row.stamps_delta = 7
    with pytest.raises(ImmutableRowError), transaction.atomic():  # bulk_update spoils the transaction it runs in
        LoyaltyTransaction.objects.bulk_update([row], ["stamps_delta"])
    assert LoyaltyTransaction.objects.get(pk=row.pk).stamps_delta == 1


@pytest.mark.postgres
def test_postgresql_trigger_rejects_raw_update(row):
    with pytest.raises(DatabaseError, match="append-only"), transaction.atomic():
        with connection.cursor() as cursor:
            cursor.execute("UPDATE loyalty_loyaltytransaction SET stamps_delta = 5 WHERE id = %s", [row.pk])
    assert LoyaltyTransaction.objects.get(pk=row.pk).stamps_delta == 1


@pytest.mark.postgres
def test_postgresql_trigger_rejects_raw_delete(row):
    with pytest.raises(DatabaseError, match="append-only"), transaction.atomic():
        with connection.cursor() as cursor:
            cursor.execute("DELETE FROM loyalty_loyaltytransaction WHERE id = %s", [row.pk])
    assert LoyaltyTransaction.objects.filter(pk=row.pk).exists()


@pytest.mark.postgres
def test_postgresql_trigger_is_installed_by_the_migration(db):
    with connection.cursor() as cursor:
        cursor.execute(
            "SELECT tgname FROM pg_trigger WHERE tgrelid = 'loyalty_loyaltytransaction'::regclass AND NOT tgisinternal"
        )
        assert [name for (name,) in cursor.fetchall()] == ["loyalty_transaction_no_update_delete"]


def test_the_ledger_carries_only_the_indexes_a_query_or_a_foreign_key_check_uses(db):
    """Every index costs every insert: migration 0015 dropped the six no query needs (README "Performance")."""
    with connection.cursor() as cursor:
        constraints = connection.introspection.get_constraints(cursor, LoyaltyTransaction._meta.db_table)
    indexes = [item for item in constraints.values() if item["index"] and not item["primary_key"]]
    indexed = sorted(tuple(item["columns"]) for item in indexes)
    assert indexed == sorted([
        ("acting_user_id",),  # a platform administrator may delete a user: its foreign-key check
        ("staff_pin_id",),  # PIN deletion looks for the PIN's rows first, then its foreign-key check
        ("card_id", "created_at"),  # a card's history, the day's stamps, the till lookup, campaign audiences
        ("merchant_id", "created_at"),  # the merchant's ledger (of one store too), statistics, the alert detector
        ("merchant_id", "type", "created_at"),  # the ledger by type (API, admin filter, alerts on rare types)
        ("merchant_id", "order_reference"),  # unique: one earning per order reference
        ("voided_transaction_id",),  # unique: voided at most once; "is it voided?"
    ])


def test_balances_equal_the_sums_of_the_ledger_after_a_mixed_history(store, program, owner):
    Program.objects.filter(pk=program.pk).update(stamps_target=2, cooldown_minutes=0, points_expiration_days=60)
    reward = factories.make_reward(program, "Cookie", 30)
    actor = factories.till_actor(store)
    cards = [factories.make_card(store) for _ in range(3)]
    for index, card in enumerate(cards):
        ref = CardRef(card_id=card.pk)
        at = NOW + timedelta(minutes=index)
        for _ in range(3):
            stamp_add(actor=actor, card_ref=ref, now=at)
        stamps_redeem(actor=actor, card_ref=ref, now=at)
        stamps_void(actor=actor, card_ref=ref, stamps_to_void=5, now=at)
        earning = points_earn(actor=actor, card_ref=ref, purchase_amount_cents=4321, order_reference=f"O-{index}", now=at)
        points_earn(actor=actor, card_ref=ref, purchase_amount_cents=4321, order_reference=f"O-{index}", now=at)
        points_redeem(actor=actor, card_ref=ref, reward_id=reward.pk, now=at)
        points_void(actor=actor, card_ref=ref, original_transaction_id=earning.transaction.pk, now=at)
        points_adjust(actor=owner, card_ref=ref, points_delta=25 * (index + 1), reason="goodwill", now=at)
    points_expire(now=NOW + timedelta(days=60, seconds=30))  # only the first card was idle long enough

    assert_ledger_matches_cards()
    assert LoyaltyTransaction.objects.filter(type=TransactionType.POINTS_EXPIRED).count() == 1


def test_the_invariant_check_notices_a_drift(actor, card):
    stamp_add(actor=actor, card_ref=CardRef(card_id=card.pk), now=NOW)
    LoyaltyCard.objects.filter(pk=card.pk).update(stamp_count=3, points_balance=9)
    problems = ledger_mismatches()
    assert any("stamp_count=3" in problem for problem in problems)
    assert any("points_balance=9" in problem for problem in problems)
