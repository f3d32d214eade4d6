"""Points rules: earn (formula, minimum, idempotency), redeem, void, adjust, card status, expiry."""

from datetime import UTC, datetime, timedelta

import pytest
from django.db import IntegrityError, transaction

from loyalty.domain.cards import CardRef
from loyalty.exceptions import (
    AlreadyVoided,
    BelowMinimumPurchase,
    CardInactive,
    IdempotencyConflict,
    InsufficientPoints,
    NothingToVoid,
    PermissionDenied,
    ProgramTypeMismatch,
    RewardNotFound,
    TransactionNotFound,
    ValidationFailed,
)
from loyalty.models import LoyaltyCard, LoyaltyTransaction, Program, TransactionType
from loyalty.services import points
from loyalty.services.cards import card_deactivate, card_reactivate
from loyalty.services.points import points_adjust, points_earn, points_expire, points_redeem, points_void
from tests import factories
from tests.loyalty.services.ledger_checks import assert_ledger_matches_cards, card_state, ledger_size

NOW = datetime(2025, 3, 12, 10, 0, tzinfo=UTC)


@pytest.fixture(autouse=True, params=["sql", "orm"])
def earn_implementation(request, monkeypatch):
    """Every test here runs on the till's hand-written SQL earn and on its ORM reference."""
    versions = {"sql": points._points_earn_sql, "orm": points._points_earn}
    monkeypatch.setattr(points, "points_earn_locked", versions[request.param])
    return request.param


def ref(card):
    return CardRef(card_id=card.pk)


def set_program(program, **fields):
    Program.objects.filter(pk=program.pk).update(**fields)


def earn(actor, card, cents, reference=None, now=NOW):
    return points_earn(actor=actor, card_ref=ref(card), purchase_amount_cents=cents, order_reference=reference, now=now)


# --- earn -----------------------------------------------------------------------------------


@pytest.mark.parametrize(
    "points_per_euro, cents, points",
    [(10, 1999, 199), (10, 100, 10), (3, 250, 7), (1, 99, 0), (25, 1, 0), (7, 12345, 864)],
)
def test_earn_gives_the_floor_of_cents_times_rate_over_100(actor, card, program, points_per_euro, cents, points):
    set_program(program, points_per_euro=points_per_euro)

    result = earn(actor, card, cents)

    card.refresh_from_db()
    assert result.points_earned == points
    assert result.replayed is False
    assert (card.points_balance, card.total_points_earned) == (points, points)
    tx = result.transaction
    assert (tx.type, tx.points_delta, tx.purchase_amount_cents, tx.points_balance_after) == (
        TransactionType.POINTS_EARNED, points, cents, points,
    )
    assert card.last_points_at == card.last_activity_at == NOW


def test_earn_below_the_minimum_purchase_is_refused(actor, card, program):
    set_program(program, minimum_purchase_cents=500)
    before = card_state(card)

    with pytest.raises(BelowMinimumPurchase) as error:
        earn(actor, card, 499, "T-1")

    assert error.value.code == "BELOW_MINIMUM_PURCHASE"
    assert error.value.details == {"minimum_purchase_cents": 500}
    assert card_state(card) == before
    assert earn(actor, card, 500, "T-1").points_earned == 50  # the refused reference stays usable


@pytest.mark.parametrize("cents", [0, -100, 100_000_001, 12.5, "100"])
def test_earn_refuses_an_impossible_amount(actor, card, cents):
    before = card_state(card)
    with pytest.raises(ValidationFailed):
        earn(actor, card, cents)
    assert card_state(card) == before


def test_earn_needs_a_program_with_points(actor, card, program):
    set_program(program, loyalty_type="stamps")
    with pytest.raises(ProgramTypeMismatch):
        earn(actor, card, 1000)


def test_earn_refused_on_an_inactive_card(actor, owner, card):
    card_deactivate(actor=owner, card_ref=ref(card), reason="lost", now=NOW)
    before = card_state(card)
    with pytest.raises(CardInactive):
        earn(actor, card, 1000)
    assert card_state(card) == before


def test_same_order_reference_same_card_and_amount_replays_the_original(actor, card):
    first = earn(actor, card, 1250, "ORDER-17")
    before = card_state(card)

    again = earn(actor, card, 1250, "  ORDER-17 ", now=NOW + timedelta(minutes=3))

    assert again.replayed is True
    assert again.transaction.pk == first.transaction.pk
    assert again.points_earned == first.points_earned == 125
    assert card_state(card) == before


def test_same_order_reference_with_another_amount_is_a_conflict(actor, card):
    earn(actor, card, 1250, "ORDER-17")
    before = card_state(card)

    with pytest.raises(IdempotencyConflict) as error:
        earn(actor, card, 1300, "ORDER-17")

    assert error.value.code == "IDEMPOTENCY_CONFLICT"
    assert error.value.details == {"order_reference": "ORDER-17"}
    assert card_state(card) == before


def test_same_order_reference_on_another_card_is_a_conflict(actor, card, store):
    second_card = factories.make_card(store)
    earn(actor, card, 1250, "ORDER-17")
    before, ledger_before = card_state(second_card), ledger_size()

    with pytest.raises(IdempotencyConflict):
        earn(actor, second_card, 1250, "ORDER-17")

    assert card_state(second_card) == before
    assert ledger_size() == ledger_before


@pytest.fixture
def reference_taken_after_the_look_up(monkeypatch):
    """Once armed (call it), the next look-up of a reference finds nothing, as when an earn with it commits
    just after: the ledger's unique constraint is then what catches it. Returns the references hidden."""
    hidden, armed = [], []

    def hidden_once(real):
        def look_up(**kwargs):
            if armed and not hidden:
                hidden.append(kwargs["order_reference"])
                return None
            return real(**kwargs)

        return look_up

    for name in ("_earning_for_reference", "_earning_for_reference_sql"):
        monkeypatch.setattr(points, name, hidden_once(getattr(points, name)))

    def arm():
        armed.append(True)
        return hidden

    return arm


# Inside: the caller's transaction (Django makes the earn's a savepoint); outside: the earn's is the transaction.
inside_and_outside_a_transaction = pytest.mark.parametrize(
    "in_a_transaction",
    [pytest.param(True, id="inside-a-transaction"), pytest.param(False, marks=pytest.mark.django_db(transaction=True))],
)


@inside_and_outside_a_transaction
def test_a_reference_another_card_took_after_the_look_up_is_a_conflict_and_changes_nothing(
    actor, card, store, reference_taken_after_the_look_up, in_a_transaction
):
    second_card = factories.make_card(store)
    earn(actor, card, 1250, "ORDER-21")
    before, ledger_before = card_state(second_card), ledger_size()
    hidden = reference_taken_after_the_look_up()

    with pytest.raises(IdempotencyConflict) as error:
        earn(actor, second_card, 1250, "ORDER-21")

    assert hidden == ["ORDER-21"]  # the unique constraint decided
    assert error.value.details == {"order_reference": "ORDER-21"}
    assert card_state(second_card) == before
    assert ledger_size() == ledger_before


@inside_and_outside_a_transaction
def test_a_reference_the_same_card_took_after_the_look_up_is_a_replay(
    actor, card, reference_taken_after_the_look_up, in_a_transaction
):
    first = earn(actor, card, 1250, "ORDER-22")
    before, ledger_before = card_state(card), ledger_size()
    hidden = reference_taken_after_the_look_up()

    again = earn(actor, card, 1250, "ORDER-22")

    assert hidden == ["ORDER-22"]
    assert again.replayed is True
    assert again.transaction.pk == first.transaction.pk
    assert again.card.points_balance == first.card.points_balance
    assert card_state(card) == before
    assert ledger_size() == ledger_before


def test_order_references_are_per_merchant(actor, card, other_store):
    other_program = factories.make_program(other_store.merchant, loyalty_type="points")
    other_card = factories.make_card(other_store)
    earn(actor, card, 1000, "ORDER-1")

    result = earn(factories.till_actor(other_store), other_card, 1000, "ORDER-1")

    assert result.replayed is False
    assert result.points_earned == 1000 * other_program.points_per_euro // 100


def test_the_database_refuses_two_earnings_with_one_order_reference(actor, card, store):
    earned = earn(actor, card, 1000, "ORDER-9").transaction
    second_card = factories.make_card(store)

    with pytest.raises(IntegrityError), transaction.atomic():
        LoyaltyTransaction.objects.create(
            card=second_card, merchant=earned.merchant, type=TransactionType.POINTS_EARNED, points_delta=5,
            stamp_balance_after=0, points_balance_after=5, order_reference="ORDER-9",
        )


def test_without_order_reference_each_earn_counts(actor, card):
    earn(actor, card, 1000)
    earn(actor, card, 1000)
    card.refresh_from_db()
    assert card.points_balance == 200


# --- redeem -------------------------------------------------------------------------------


def test_redeem_takes_the_reward_price(actor, card, reward):
    earn(actor, card, 1500)  # 150 points

    result = points_redeem(actor=actor, card_ref=ref(card), reward_id=reward.pk, now=NOW + timedelta(hours=1))

    card.refresh_from_db()
    assert (card.points_balance, card.points_redeemed, card.total_points_earned) == (50, 100, 150)
    assert card.last_redemption_at == NOW + timedelta(hours=1)
    assert (result.transaction.type, result.transaction.points_delta) == (TransactionType.POINTS_REDEEMED, -100)
    assert result.transaction.reward == reward
    assert_ledger_matches_cards()


def test_redeem_without_enough_points_is_refused(actor, card, reward):
    earn(actor, card, 990)  # 99 points
    before = card_state(card)

    with pytest.raises(InsufficientPoints) as error:
        points_redeem(actor=actor, card_ref=ref(card), reward_id=reward.pk, now=NOW)

    assert error.value.code == "INSUFFICIENT_POINTS"
    assert error.value.details == {"points_balance": 99, "points_required": 100}
    assert card_state(card) == before


def test_redeem_needs_an_active_reward_of_this_program(actor, card, program, reward, other_merchant):
    earn(actor, card, 100_000)
    retired = factories.make_reward(program, "Old muffin", 10, is_active=False)
    foreign_program = factories.make_program(other_merchant, loyalty_type="points")
    foreign = factories.make_reward(foreign_program, "Baguette", 10)
    before = card_state(card)

    for reward_id in (retired.pk, foreign.pk, 9_999_999):
        with pytest.raises(RewardNotFound) as error:
            points_redeem(actor=actor, card_ref=ref(card), reward_id=reward_id, now=NOW)
        assert error.value.code == "REWARD_NOT_FOUND"
    assert card_state(card) == before


# --- void ---------------------------------------------------------------------------------


def test_void_by_transaction_id_at_most_once(actor, card):
    earned = earn(actor, card, 1500).transaction

    result = points_void(actor=actor, card_ref=ref(card), original_transaction_id=earned.pk, now=NOW)

    assert result.points_voided == 150
    assert result.card.points_balance == 0
    assert result.card.total_points_voided == 150
    assert result.transaction.voided_transaction == earned
    before = card_state(card)
    with pytest.raises(AlreadyVoided):
        points_void(actor=actor, card_ref=ref(card), original_transaction_id=earned.pk, now=NOW)
    assert card_state(card) == before
    assert_ledger_matches_cards()


def test_void_by_order_reference_is_a_return_at_most_once(actor, card):
    earn(actor, card, 2000, "R-55")
    earn(actor, card, 500, "R-56")

    result = points_void(actor=actor, card_ref=ref(card), order_reference="R-55", now=NOW)

    assert result.points_voided == 200
    assert result.card.points_balance == 50
    assert result.transaction.order_reference == "R-55"
    with pytest.raises(AlreadyVoided):
        points_void(actor=actor, card_ref=ref(card), order_reference="R-55", now=NOW)
    # The void row carries the reference but is no earning: the reference stays a replay, not a new earn.
    assert earn(actor, card, 2000, "R-55").replayed is True
    assert_ledger_matches_cards()


def test_void_by_order_reference_ignores_surrounding_spaces_as_earning_does(actor, card):
    earn(actor, card, 2000, " R-77 ")
    assert points_void(actor=actor, card_ref=ref(card), order_reference="R-77  ", now=NOW).points_voided == 200
    with pytest.raises(ValidationFailed):
        points_void(actor=actor, card_ref=ref(card), order_reference="   ", now=NOW)  # blank is no reference


def test_void_by_unknown_reference_or_another_cards_transaction_is_not_found(actor, card, store):
    other_card = factories.make_card(store)
    other_earning = earn(actor, other_card, 1000, "THEIRS").transaction
    earn(actor, card, 1000)
    before = card_state(card)

    with pytest.raises(TransactionNotFound):
        points_void(actor=actor, card_ref=ref(card), order_reference="THEIRS", now=NOW)
    with pytest.raises(TransactionNotFound):
        points_void(actor=actor, card_ref=ref(card), original_transaction_id=other_earning.pk, now=NOW)
    with pytest.raises(TransactionNotFound):
        points_void(actor=actor, card_ref=ref(card), order_reference="NOPE", now=NOW)
    assert card_state(card) == before


def test_void_by_amount_never_below_zero(actor, card):
    earn(actor, card, 500)  # 50 points

    assert points_void(actor=actor, card_ref=ref(card), points_to_void=30, now=NOW).points_voided == 30
    assert points_void(actor=actor, card_ref=ref(card), points_to_void=100, now=NOW).points_voided == 20
    card.refresh_from_db()
    assert (card.points_balance, card.total_points_voided) == (0, 50)

    before = card_state(card)
    with pytest.raises(NothingToVoid):
        points_void(actor=actor, card_ref=ref(card), points_to_void=1, now=NOW)
    assert card_state(card) == before
    assert_ledger_matches_cards()


def test_voiding_points_already_spent_takes_back_only_what_is_left(actor, card, reward):
    earned = earn(actor, card, 1200, "R-1").transaction  # 120
    points_redeem(actor=actor, card_ref=ref(card), reward_id=reward.pk, now=NOW)  # 20 left

    result = points_void(actor=actor, card_ref=ref(card), original_transaction_id=earned.pk, now=NOW)

    assert result.points_voided == 20
    assert result.card.points_balance == 0
    assert result.card.total_points_voided == 20
    assert_ledger_matches_cards()


@pytest.mark.parametrize(
    "arguments",
    [
        {},
        {"points_to_void": 5, "order_reference": "X"},
        {"points_to_void": 5, "original_transaction_id": 1},
        {"points_to_void": 0},
        {"points_to_void": 100_001},
    ],
)
def test_void_needs_exactly_one_valid_way(actor, card, arguments):
    with pytest.raises(ValidationFailed):
        points_void(actor=actor, card_ref=ref(card), now=NOW, **arguments)


# --- adjust -------------------------------------------------------------------------------


def test_adjust_is_for_owners_only(card, store):
    earn(factories.till_actor(store), card, 1000)
    before = card_state(card)
    for role in ("staff", "manager"):
        with pytest.raises(PermissionDenied) as error:
            points_adjust(actor=factories.till_actor(store, role=role), card_ref=ref(card), points_delta=5, reason="x")
        assert error.value.code == "PERMISSION_DENIED"
    assert card_state(card) == before


def test_adjust_changes_the_balance_with_a_reason(owner, card):
    result = points_adjust(actor=owner, card_ref=ref(card), points_delta=100_000, reason=" goodwill ", now=NOW)
    assert result.card.points_balance == 100_000
    assert (result.transaction.type, result.transaction.points_delta) == (TransactionType.POINTS_ADJUSTED, 100_000)
    assert result.transaction.notes == "goodwill"

    result = points_adjust(actor=owner, card_ref=ref(card), points_delta=-100_000, reason="typo", now=NOW)
    assert result.card.points_balance == 0
    assert_ledger_matches_cards()


@pytest.mark.parametrize(
    "points_delta, reason, field",
    [(0, "why", "points_delta"), (100_001, "why", "points_delta"), (-100_001, "why", "points_delta"),
     (10, "", "reason"), (10, "   ", "reason")],
)
def test_adjust_validates_delta_and_reason(owner, card, points_delta, reason, field):
    before = card_state(card)
    with pytest.raises(ValidationFailed) as error:
        points_adjust(actor=owner, card_ref=ref(card), points_delta=points_delta, reason=reason, now=NOW)
    assert field in error.value.details
    assert card_state(card) == before


def test_adjust_never_makes_the_balance_negative(owner, card):
    points_adjust(actor=owner, card_ref=ref(card), points_delta=40, reason="gift", now=NOW)
    before = card_state(card)
    with pytest.raises(InsufficientPoints):
        points_adjust(actor=owner, card_ref=ref(card), points_delta=-41, reason="oops", now=NOW)
    assert card_state(card) == before


# --- deactivate / reactivate ----------------------------------------------------------------


def test_deactivate_and_reactivate_are_audited(owner, card, store):
    off = card_deactivate(actor=owner, card_ref=ref(card), reason="Reported stolen", now=NOW)
    assert (off.card.is_active, off.card.deactivated_at, off.card.deactivation_reason) == (
        False, NOW, "Reported stolen",
    )
    assert (off.transaction.type, off.transaction.notes, off.transaction.store) == (
        TransactionType.CARD_DEACTIVATED, "Reported stolen", store,
    )

    on = card_reactivate(actor=owner, card_ref=ref(card), reason="Found", now=NOW + timedelta(days=1))
    card.refresh_from_db()
    assert (card.is_active, card.deactivated_at, card.deactivation_reason) == (True, None, "")
    assert on.transaction.type == TransactionType.CARD_REACTIVATED
    assert (on.transaction.stamps_delta, on.transaction.points_delta) == (0, 0)
    assert list(
        LoyaltyTransaction.objects.filter(card=card).order_by("pk").values_list("type", flat=True)
    ) == [TransactionType.CARD_ENROLLED, TransactionType.CARD_DEACTIVATED, TransactionType.CARD_REACTIVATED]


# --- expiry -------------------------------------------------------------------------------


@pytest.fixture
def expiring_program(program):
    set_program(program, points_expiration_days=30)
    return program


def test_idle_cards_lose_their_balance_once(actor, store, expiring_program):
    idle, recent, empty = (factories.make_card(store) for _ in range(3))
    earn(actor, idle, 1000, now=NOW)  # 100
    earn(actor, recent, 2000, now=NOW)
    earn(actor, recent, 500, now=NOW + timedelta(days=20))  # activity protects the card
    later = NOW + timedelta(days=31)

    result = points_expire(now=later)

    assert (result.cards, result.points) == (1, 100)
    idle.refresh_from_db()
    recent.refresh_from_db()
    assert (idle.points_balance, idle.total_points_expired) == (0, 100)
    assert recent.points_balance == 250
    expiry = LoyaltyTransaction.objects.get(card=idle, type=TransactionType.POINTS_EXPIRED)
    assert (expiry.points_delta, expiry.points_balance_after, expiry.created_at, expiry.store) == (-100, 0, later, None)
    assert not LoyaltyTransaction.objects.filter(card__in=[recent, empty], type=TransactionType.POINTS_EXPIRED).exists()

    rows = ledger_size()
    again = points_expire(now=later + timedelta(hours=1))
    assert (again.cards, again.points) == (0, 0)
    assert ledger_size() == rows
    assert_ledger_matches_cards()


def test_the_cut_off_is_exactly_the_expiration_days(actor, card, expiring_program):
    earn(actor, card, 1000, now=NOW)
    assert points_expire(now=NOW + timedelta(days=30)).cards == 0  # idle exactly 30 days: not yet
    assert points_expire(now=NOW + timedelta(days=30, seconds=1)).cards == 1


def test_a_card_never_used_expires_from_its_enrollment(owner, card, expiring_program):
    points_adjust(actor=owner, card_ref=ref(card), points_delta=70, reason="welcome", now=NOW)
    LoyaltyCard.objects.filter(pk=card.pk).update(last_activity_at=None)  # only the enrollment happened
    enrolled_at = LoyaltyCard.objects.get(pk=card.pk).created_at

    assert points_expire(now=enrolled_at + timedelta(days=29)).cards == 0
    assert points_expire(now=enrolled_at + timedelta(days=31)).points == 70


def test_programs_without_expiry_keep_points(actor, card, program):
    earn(actor, card, 1000, now=NOW)
    assert points_expire(now=NOW + timedelta(days=3650)).cards == 0
    card.refresh_from_db()
    assert card.points_balance == 100
