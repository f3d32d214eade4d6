"""The program and its rewards catalog: owners only, validated, "deleting" deactivates."""

from datetime import UTC, datetime

import pytest

from loyalty.domain.cards import CardRef
from loyalty.exceptions import (
    PermissionDenied,
    ProgramExists,
    ProgramInactive,
    ProgramNotFound,
    RewardNotFound,
    ValidationFailed,
)
from loyalty.models import LoyaltyCard, LoyaltyTransaction, Program
from loyalty.services.programs import program_create, program_deactivate, program_update, reward_create, reward_update
from loyalty.services.stamps import stamp_add
from tests import factories

NOW = datetime(2025, 3, 12, 10, 0, tzinfo=UTC)


def test_owner_creates_the_one_program(owner, merchant, settings):
    program = program_create(actor=owner, name="Coffee", loyalty_type="points")
    assert (program.merchant, program.points_per_euro, program.cooldown_minutes) == (
        merchant, settings.LOYALTY_DEFAULT_POINTS_PER_EURO, settings.LOYALTY_DEFAULT_COOLDOWN_MINUTES,
    )
    assert (program.max_daily_stamps, program.require_staff_pin, program.is_active) == (
        settings.LOYALTY_MAX_DAILY_STAMPS, True, True,
    )
    with pytest.raises(ProgramExists):
        program_create(actor=owner, name="Second")
    assert Program.objects.filter(merchant=merchant).count() == 1


@pytest.mark.parametrize("role", ["manager", "staff"])
def test_only_owners_change_the_program(store, program, role):
    actor = factories.till_actor(store, role=role)
    for operation in (
        lambda: program_create(actor=actor, name="x"),
        lambda: program_update(actor=actor, name="x"),
        lambda: program_deactivate(actor=actor),
        lambda: reward_create(actor=actor, name="x", points_required=5),
    ):
        with pytest.raises(PermissionDenied):
            operation()
    program.refresh_from_db()
    assert (program.name, program.is_active) == ("Coffee Card", True)


@pytest.mark.parametrize(
    "fields, field",
    [({"background_color": "red"}, "background_color"), ({"text_color": "#FFF"}, "text_color"),
     ({"stamps_target": 0}, "stamps_target"), ({"loyalty_type": "cash"}, "loyalty_type"),
     ({"privacy_url": "not a url"}, "privacy_url"), ({"colour": "#000000"}, "colour")],
)
def test_program_update_validates(owner, program, fields, field):
    with pytest.raises(ValidationFailed) as error:
        program_update(actor=owner, **fields)
    assert field in error.value.details
    program.refresh_from_db()
    assert program.background_color == "#1F3A5F"


def test_program_update_without_program_is_not_found(owner):
    with pytest.raises(ProgramNotFound):
        program_update(actor=owner, name="x")


def test_deleting_a_program_deactivates_it_and_keeps_cards_and_history(owner, actor, program, card):
    stamp_add(actor=actor, card_ref=CardRef(card_id=card.pk), now=NOW)

    program_deactivate(actor=owner)

    program.refresh_from_db()
    assert program.is_active is False
    assert LoyaltyCard.objects.filter(pk=card.pk).exists()
    assert LoyaltyTransaction.objects.filter(card=card).count() == 2
    with pytest.raises(ProgramInactive):
        stamp_add(actor=actor, card_ref=CardRef(card_id=card.pk), now=NOW.replace(hour=12))


def test_rewards_catalog(owner, program, other_store, other_program):
    reward = reward_create(actor=owner, name="Muffin", description="Any", points_required=80, position=2)
    assert (reward.program, reward.is_active) == (program, True)

    reward_update(actor=owner, reward_id=reward.pk, points_required=90, is_active=False)
    reward.refresh_from_db()
    assert (reward.points_required, reward.is_active) == (90, False)

    with pytest.raises(ValidationFailed):
        reward_create(actor=owner, name="Free", points_required=0)
    theirs = factories.make_reward(other_program, "Baguette", 10)
    with pytest.raises(RewardNotFound):
        reward_update(actor=owner, reward_id=theirs.pk, name="mine now")
    theirs.refresh_from_db()
    assert theirs.name == "Baguette"
