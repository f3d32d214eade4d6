"""Tenancy in the services: another merchant's card is "not found" for every operation, by any identifier."""

from datetime import UTC, datetime

import pytest

from loyalty.domain.cards import CardRef
from loyalty.exceptions import CardNotFound
from loyalty.services.cards import card_deactivate, card_reactivate
from loyalty.services.points import points_adjust, points_earn, points_redeem, points_void
from loyalty.services.stamps import stamp_add, stamps_redeem, stamps_void
from tests import factories
from tests.loyalty.services.ledger_checks import card_state, ledger_size

NOW = datetime(2025, 3, 12, 10, 0, tzinfo=UTC)

OPERATIONS = {
    "stamp_add": lambda actor, ref, reward: stamp_add(actor=actor, card_ref=ref, now=NOW),
    "stamps_redeem": lambda actor, ref, reward: stamps_redeem(actor=actor, card_ref=ref, now=NOW),
    "stamps_void": lambda actor, ref, reward: stamps_void(actor=actor, card_ref=ref, stamps_to_void=1, now=NOW),
    "points_earn": lambda actor, ref, reward: points_earn(
        actor=actor, card_ref=ref, purchase_amount_cents=1000, order_reference="X-1", now=NOW
    ),
    "points_redeem": lambda actor, ref, reward: points_redeem(actor=actor, card_ref=ref, reward_id=reward.pk, now=NOW),
    "points_void": lambda actor, ref, reward: points_void(actor=actor, card_ref=ref, points_to_void=1, now=NOW),
    "points_adjust": lambda actor, ref, reward: points_adjust(
        actor=actor, card_ref=ref, points_delta=10, reason="test", now=NOW
    ),
    "card_deactivate": lambda actor, ref, reward: card_deactivate(actor=actor, card_ref=ref, reason="x", now=NOW),
    "card_reactivate": lambda actor, ref, reward: card_reactivate(actor=actor, card_ref=ref, now=NOW),
}

IDENTIFIERS = {
    "card_id": lambda card: CardRef(card_id=card.pk),
    "qr_code": lambda card: CardRef(qr_code=card.qr_code_data),
    "card_number": lambda card: CardRef(card_number=card.card_number),
}


@pytest.mark.parametrize("identifier", IDENTIFIERS)
@pytest.mark.parametrize("operation", OPERATIONS)
def test_another_merchants_card_is_not_found(
    owner, program, reward, other_store, other_card, operation, identifier
):
    # given: the other merchant's card has a stamp to lose
    stamp_add(actor=factories.till_actor(other_store), card_ref=CardRef(card_id=other_card.pk), now=NOW)
    before, rows = card_state(other_card), ledger_size()

    # when / then
    with pytest.raises(CardNotFound) as error:
        OPERATIONS[operation](owner, IDENTIFIERS[identifier](other_card), reward)

    assert error.value.code == "CARD_NOT_FOUND"
    assert error.value.status == 404
    assert card_state(other_card) == before
    assert ledger_size() == rows


def test_an_unknown_card_is_not_found_either(actor, program):
    with pytest.raises(CardNotFound):
        stamp_add(actor=actor, card_ref=CardRef(qr_code="no-such-qr"), now=NOW)
