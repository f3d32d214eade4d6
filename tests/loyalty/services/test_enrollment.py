"""Enrollment and card identifiers: one customer per e-mail per merchant, one card per program."""

import base64
from datetime import UTC, datetime

import pytest

from loyalty.domain.actors import Actor, Channel
from loyalty.domain.cards import CardRef
from loyalty.domain.identifiers import is_valid_card_number, luhn_check_digit, new_card_number
from loyalty.exceptions import AlreadyEnrolled, EnrollmentClosed, ProgramInactive, ValidationFailed
from loyalty.models import Customer, LoyaltyCard, LoyaltyTransaction, MerchantSettings, Program, TransactionType
from loyalty.services.enrollment import customer_enroll
from loyalty.services.stamps import stamp_add
from tests import factories
from tests.loyalty.services.ledger_checks import ledger_size

NOW = datetime(2025, 3, 12, 10, 0, tzinfo=UTC)


def public(store):
    return Actor(merchant=store.merchant, store=store, channel=Channel.PUBLIC)


def test_enrollment_creates_customer_card_and_ledger_row(store, program):
    result = customer_enroll(
        actor=factories.till_actor(store), email="Ana.Silva@Example.COM", full_name=" Ana Silva ",
        language="fr", marketing_consent=True, now=NOW,
    )

    card, customer = result.card, result.customer
    assert result.customer_created is True
    assert (customer.email, customer.full_name, customer.preferred_language) == ("Ana.Silva@example.com", "Ana Silva", "fr")
    assert customer.marketing_consent and customer.marketing_consent_at == NOW
    assert customer.terms_accepted_at == NOW
    assert (card.program, card.customer, card.merchant, card.enrolled_store) == (program, customer, store.merchant, store)
    assert (card.stamp_count, card.points_balance, card.is_active) == (0, 0, True)
    tx = result.transaction
    assert (tx.type, tx.card, tx.store, tx.created_at) == (TransactionType.CARD_ENROLLED, card, store, NOW)
    assert (tx.stamps_delta, tx.points_delta, tx.stamp_balance_after, tx.points_balance_after) == (0, 0, 0, 0)


def test_email_is_case_insensitive_and_a_second_card_is_refused_with_the_first_ones_id(store, program):
    first = customer_enroll(actor=public(store), email="ana@example.com", now=NOW).card
    rows = ledger_size()

    with pytest.raises(AlreadyEnrolled) as error:
        customer_enroll(actor=public(store), email="  ANA@Example.Com ", now=NOW)

    assert error.value.code == "ALREADY_ENROLLED"
    assert error.value.status == 409
    assert error.value.details == {"card_id": first.pk}
    assert Customer.objects.count() == 1
    assert LoyaltyCard.objects.count() == 1
    assert ledger_size() == rows


def test_same_customer_at_every_store_of_the_merchant(store, program, merchant):
    station = factories.make_store(merchant)
    card = customer_enroll(actor=public(store), email="ben@example.com", now=NOW).card

    with pytest.raises(AlreadyEnrolled) as error:
        customer_enroll(actor=public(station), email="ben@example.com", now=NOW)
    assert error.value.details["card_id"] == card.pk

    # The card enrolled at one store works at the other.
    result = stamp_add(actor=factories.till_actor(station), card_ref=CardRef(card_id=card.pk), now=NOW)
    assert result.transaction.store == station
    assert Customer.objects.filter(merchant=merchant).count() == 1


def test_the_same_email_at_another_merchant_is_another_customer(store, program, other_store, other_program):
    mine = customer_enroll(actor=public(store), email="cleo@example.com", now=NOW)
    theirs = customer_enroll(actor=public(other_store), email="cleo@example.com", now=NOW)

    assert mine.customer.pk != theirs.customer.pk
    assert theirs.customer.merchant == other_store.merchant
    assert theirs.card.program == other_program


def test_an_existing_customer_without_a_card_gets_one(store, program, merchant):
    customer = Customer.objects.create(merchant=merchant, email="dan@example.com")
    result = customer_enroll(actor=public(store), email="DAN@example.com", now=NOW)
    assert result.customer == customer
    assert result.customer_created is False


def test_unknown_language_falls_back_to_the_default(store, program, settings):
    customer = customer_enroll(actor=public(store), email="eve@example.com", language="xx", now=NOW).customer
    assert customer.preferred_language == settings.LANGUAGE_CODE


@pytest.mark.parametrize("email", ["", "   ", "not-an-email", None])
def test_enrollment_needs_an_email(store, program, email):
    with pytest.raises(ValidationFailed) as error:
        customer_enroll(actor=public(store), email=email, now=NOW)
    assert "email" in error.value.details
    assert Customer.objects.count() == 0


def test_public_enrollment_closed_by_the_merchant(store, program, merchant):
    MerchantSettings.objects.create(merchant=merchant, self_enrollment_open=False)
    with pytest.raises(EnrollmentClosed):
        customer_enroll(actor=public(store), email="fay@example.com", now=NOW)
    # Staff can still enroll a customer at the till.
    assert customer_enroll(actor=factories.till_actor(store), email="fay@example.com", now=NOW).card


def test_enrollment_needs_an_active_program(store, program):
    Program.objects.filter(pk=program.pk).update(is_active=False)
    with pytest.raises(ProgramInactive):
        customer_enroll(actor=public(store), email="gus@example.com", now=NOW)
    assert LoyaltyCard.objects.count() == 0


# --- identifiers ------------------------------------------------------------------------------


def test_card_numbers_are_12_digits_with_a_valid_luhn_check_digit(store, program):
    cards = [factories.make_card(store) for _ in range(30)]
    numbers = [card.card_number for card in cards]

    assert len(set(numbers)) == 30
    for number in numbers:
        assert len(number) == 12 and number.isdigit()
        assert is_valid_card_number(number)


def test_luhn_matches_the_reference_algorithm():
    assert luhn_check_digit("7992739871") == "3"  # the textbook example 79927398713
    assert luhn_check_digit("00000000000") == "0"
    for _ in range(200):
        number = new_card_number()
        digits = [int(d) for d in number]
        # Independent check: double every second digit from the right, sum digits, multiple of 10.
        total = sum(d if i % 2 == 0 else (d * 2 - 9 if d * 2 > 9 else d * 2) for i, d in enumerate(reversed(digits)))
        assert total % 10 == 0


def test_any_single_digit_typo_makes_the_number_invalid():
    number = new_card_number()
    for position in range(12):
        for digit in "0123456789":
            if digit != number[position]:
                assert not is_valid_card_number(number[:position] + digit + number[position + 1 :])


def test_qr_code_data_is_an_unguessable_url_safe_token(store, program):
    cards = [factories.make_card(store) for _ in range(20)]
    tokens = {card.qr_code_data for card in cards} | {card.public_token for card in cards}
    assert len(tokens) == 40  # all distinct, and QR data is not the card-page token
    for card in cards:
        raw = base64.urlsafe_b64decode(card.qr_code_data + "=" * (-len(card.qr_code_data) % 4))
        assert len(raw) * 8 >= 128
        assert set(card.qr_code_data) <= set("ABCDEFGHIJKLMNOPQRSTUVWXYZabcdefghijklmnopqrstuvwxyz0123456789-_")


def test_card_ref_refuses_a_mistyped_number_before_any_lookup(db, django_assert_num_queries):
    number = new_card_number()
    typo = number[:-1] + str((int(number[-1]) + 1) % 10)
    with django_assert_num_queries(0), pytest.raises(ValidationFailed) as error:
        CardRef(card_number=typo)
    assert "card_number" in error.value.details
    for wrong in ("12345", "abcdefghijkl", number + "0", "１２３４５６７８９０１２"):
        with pytest.raises(ValidationFailed):
            CardRef(card_number=wrong)


@pytest.mark.parametrize(
    "arguments",
    [{}, {"card_id": None, "qr_code": ""}, {"card_id": 1, "qr_code": "abc"}, {"qr_code": "abc", "card_number": "x"},
     {"card_id": 1, "qr_code": "abc", "card_number": "123456789012"}],
)
def test_card_ref_needs_exactly_one_identifier(arguments):
    with pytest.raises(ValidationFailed) as error:
        CardRef(**arguments)
    assert error.value.code == "VALIDATION_ERROR"
    assert "card" in error.value.details


def test_card_ref_lookups():
    number = new_card_number()
    assert CardRef(card_id=5).lookup() == {"pk": 5}
    assert CardRef(qr_code="q").lookup() == {"qr_code_data": "q"}
    assert CardRef(card_number=number).lookup() == {"card_number": number}


def test_enrollment_transaction_is_the_cards_first_row(store, program):
    card = factories.make_card(store)
    assert list(LoyaltyTransaction.objects.filter(card=card).values_list("type", flat=True)) == ["CARD_ENROLLED"]
