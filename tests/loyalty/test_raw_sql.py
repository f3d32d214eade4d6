"""The till's hand-written statements (``loyalty/raw_sql.py``) read and write exactly what the ORM does."""

from datetime import UTC, datetime

import pytest
from django.db.models.signals import post_init
from django.forms.models import model_to_dict

from loyalty.lock_objects import card_lock_sql
from loyalty.models import LoyaltyCard, LoyaltyTransaction, Program, Store, TransactionType
from loyalty.raw_sql import row_instance, row_update
from loyalty.services.ledger import ledger_record, ledger_record_sql
from loyalty.services.operations import program_of_merchant_sql
from tests import factories

NOW = datetime(2025, 3, 12, 10, 0, tzinfo=UTC)


def _fields(instance) -> dict:
    return {field.attname: getattr(instance, field.attname) for field in instance._meta.concrete_fields}


@pytest.mark.django_db
def test_the_program_reads_as_the_orm_reads_it(merchant, program, other_program):
    found = program_of_merchant_sql(merchant=merchant)
    assert _fields(found) == _fields(Program.objects.get(merchant=merchant))
    assert not found._state.adding and found.has_stamps == program.has_stamps
    assert program_of_merchant_sql(merchant=factories.make_merchant()) is None


@pytest.mark.django_db
def test_the_card_lock_reads_the_card_as_the_orm_does_and_only_the_merchants(store, program, other_card):
    card = factories.make_card(store)
    LoyaltyCard.objects.filter(pk=card.pk).update(last_stamp_at=NOW, is_active=False, stamp_count=3)
    expected = _fields(LoyaltyCard.objects.get(pk=card.pk))
    for lookup in ({"pk": card.pk}, {"qr_code_data": card.qr_code_data}, {"card_number": card.card_number}):
        assert _fields(card_lock_sql(merchant=store.merchant, lookup=lookup)) == expected
    assert card_lock_sql(merchant=store.merchant, lookup={"pk": other_card.pk}) is None  # another merchant's


@pytest.mark.django_db
def test_an_update_writes_the_fields_as_save_does(store, program):
    card = factories.make_card(store)
    before = LoyaltyCard.objects.get(pk=card.pk).updated_at
    card.stamp_count, card.last_stamp_at = 4, NOW
    row_update(card, ("stamp_count", "last_stamp_at", "updated_at"))
    stored = LoyaltyCard.objects.get(pk=card.pk)
    assert (stored.stamp_count, stored.last_stamp_at) == (4, NOW)
    assert stored.updated_at > before  # auto_now, as save(update_fields=...) stamps it


@pytest.mark.django_db
def test_the_ledger_row_has_every_column_the_orm_writes(store, program, actor):
    card = factories.make_card(store)
    values = dict(actor=actor, type=TransactionType.POINTS_EARNED, points_delta=12, purchase_amount_cents=1250,
                  order_reference="POS-7", notes="n", now=NOW)  # fmt: skip
    by_sql = ledger_record_sql(card=card, **values)
    by_orm = ledger_record(card=card, **{**values, "order_reference": "POS-8"})
    sql_row = model_to_dict(LoyaltyTransaction.objects.get(pk=by_sql.pk))
    orm_row = model_to_dict(LoyaltyTransaction.objects.get(pk=by_orm.pk))
    assert {**sql_row, "id": None, "order_reference": None} == {**orm_row, "id": None, "order_reference": None}
    assert _fields(by_sql) == _fields(LoyaltyTransaction.objects.get(pk=by_sql.pk))
    assert by_sql.ip_address == actor.ip_address and by_sql.created_at == NOW


STORE_COLUMNS = ("id", "merchant_id", "code", "name", "timezone")


@pytest.mark.django_db
def test_a_row_becomes_the_instance_from_db_makes(store):
    values = (store.pk, store.merchant_id, store.code, store.name, store.timezone)
    made = row_instance(Store, STORE_COLUMNS, values, is_active=True)
    expected = Store.from_db("default", [*STORE_COLUMNS, "is_active"], [*values, True])

    assert {name: getattr(made, name) for name in (*STORE_COLUMNS, "is_active")} == {
        name: getattr(expected, name) for name in (*STORE_COLUMNS, "is_active")
    }
    assert made.get_deferred_fields() == expected.get_deferred_fields() == {"address", "created_at", "updated_at"}
    assert (made._state.adding, made._state.db) == (False, "default")
    assert made.address == Store.objects.get(pk=store.pk).address  # a deferred field loads on first access
    assert made.merchant == store.merchant
    made.name = "Renamed"
    made.save(update_fields=["name"])
    assert Store.objects.get(pk=store.pk).name == "Renamed"


@pytest.mark.django_db
def test_a_model_with_a_post_init_receiver_is_made_by_from_db_so_the_receiver_runs(store):
    seen = []

    def receiver(sender, instance, **kwargs):
        seen.append(instance.pk)

    post_init.connect(receiver, sender=Store)
    try:
        made = row_instance(Store, STORE_COLUMNS, (store.pk, store.merchant_id, store.code, store.name, "UTC"))
    finally:
        post_init.disconnect(receiver, sender=Store)

    assert seen == [store.pk]
    assert made.timezone == "UTC" and not made._state.adding
