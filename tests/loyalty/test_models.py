"""What the database itself guarantees: constraints, protected history, small derived properties."""

from datetime import UTC, datetime

import pytest
from django.core.exceptions import ValidationError
from django.db import IntegrityError, transaction
from django.db.models import ProtectedError

from loyalty.domain.cards import CardRef
from loyalty.models import Customer, LoyaltyCard, LoyaltyTransaction, MerchantSettings, Program, Reward, Store
from loyalty.services.stamps import stamp_add, stamps_void
from staff.models import StaffPin
from tests import factories

NOW = datetime(2025, 3, 12, 10, 0, tzinfo=UTC)


def refused(create):
    with pytest.raises(IntegrityError), transaction.atomic():
        create()


def test_one_card_per_customer_per_program(card):
    refused(lambda: LoyaltyCard.objects.create(
        merchant=card.merchant, program=card.program, customer=card.customer,
        card_number="000000000000", qr_code_data="other-qr", public_token="other-token",
    ))


def test_card_identifiers_are_unique(card, store):
    other = factories.make_card(store)
    for field in ("card_number", "qr_code_data", "public_token"):
        refused(lambda field=field: LoyaltyCard.objects.filter(pk=other.pk).update(**{field: getattr(card, field)}))


def test_balances_cannot_go_negative_in_the_database(card):
    refused(lambda: LoyaltyCard.objects.filter(pk=card.pk).update(stamp_count=-1))
    refused(lambda: LoyaltyCard.objects.filter(pk=card.pk).update(points_balance=-1))


def test_customer_email_is_unique_per_merchant_whatever_the_case(merchant, other_merchant):
    Customer.objects.create(merchant=merchant, email="ana@example.com")
    refused(lambda: Customer.objects.create(merchant=merchant, email="ANA@example.com"))
    assert Customer.objects.create(merchant=other_merchant, email="ana@example.com").pk


def test_one_program_per_merchant(program, merchant):
    refused(lambda: factories.make_program(merchant, name="Second"))


@pytest.mark.parametrize(
    "fields", [{"stamps_target": 0}, {"max_daily_stamps": 0}, {"loyalty_type": "cash"}]
)
def test_program_check_constraints(merchant, fields):
    refused(lambda: factories.make_program(merchant, **fields))


def test_reward_needs_a_positive_price(program):
    refused(lambda: Reward.objects.create(program=program, name="Free", points_required=0))


def test_program_colours_and_store_time_zone_are_validated(program, store):
    program.background_color = "#12345G"
    with pytest.raises(ValidationError) as error:
        program.full_clean()
    assert "background_color" in error.value.message_dict
    store.timezone = "Mars/Olympus_Mons"
    with pytest.raises(ValidationError) as error:
        store.full_clean()
    assert "timezone" in error.value.message_dict


def test_one_settings_row_per_merchant(merchant):
    MerchantSettings.objects.create(merchant=merchant)
    refused(lambda: MerchantSettings.objects.create(merchant=merchant))


def test_merchant_settings_fall_back_to_the_platform_defaults(merchant, settings):
    settings.LOYALTY_PIN_MAX_FAILED_ATTEMPTS = 6
    settings.LOYALTY_PIN_LOCKOUT_MINUTES = 25
    own = MerchantSettings.objects.create(merchant=merchant)
    assert (own.effective_pin_max_failed_attempts, own.effective_pin_lockout_minutes) == (6, 25)
    own.pin_max_failed_attempts, own.pin_lockout_minutes = 3, 5
    assert (own.effective_pin_max_failed_attempts, own.effective_pin_lockout_minutes) == (3, 5)


def test_active_pins_are_unique_per_store_in_the_database(store):
    pin = factories.make_pin(store, pin="4821")
    duplicate = dict(merchant=store.merchant, store=store, name="Copy", pin_hash="x", lookup_digest=pin.lookup_digest)
    refused(lambda: StaffPin.objects.create(**duplicate))
    assert StaffPin.objects.create(**duplicate, is_active=False).pk  # inactive duplicates are history


def test_a_transaction_is_voided_at_most_once_in_the_database(actor, card):
    stamp = stamp_add(actor=actor, card_ref=CardRef(card_id=card.pk), now=NOW).transaction
    stamps_void(actor=actor, card_ref=CardRef(card_id=card.pk), original_transaction_id=stamp.pk, now=NOW)
    refused(lambda: LoyaltyTransaction.objects.create(
        card=card, merchant=card.merchant, type="STAMP_VOIDED", stamp_balance_after=0, points_balance_after=0,
        voided_transaction=stamp,
    ))


def test_history_is_never_cascade_deleted(card, program, merchant, store):
    for obj in (card, program, card.customer, store, merchant):
        with pytest.raises(ProtectedError), transaction.atomic():
            type(obj).objects.filter(pk=obj.pk).delete()
    assert LoyaltyCard.objects.filter(pk=card.pk).exists()
    assert Program.objects.filter(pk=program.pk).exists()
    assert Store.objects.filter(pk=store.pk).exists()
    assert LoyaltyTransaction.objects.filter(card=card).exists()


@pytest.mark.parametrize(
    "loyalty_type, has_stamps, has_points",
    [("stamps", True, False), ("points", False, True), ("hybrid", True, True)],
)
def test_program_type_decides_what_it_supports(loyalty_type, has_stamps, has_points):
    program = Program(loyalty_type=loyalty_type)
    assert (program.has_stamps, program.has_points) == (has_stamps, has_points)


def test_stamps_until_reward(card):
    card.program.stamps_target = 10
    card.stamp_count = 7
    assert card.stamps_until_reward == 3
    card.stamp_count = 12
    assert card.stamps_until_reward == 0
