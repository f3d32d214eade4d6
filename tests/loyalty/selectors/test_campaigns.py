"""Campaign audiences: each one over a seeded ledger, and never another merchant's cards."""

from datetime import timedelta

import pytest
from django.utils import timezone

from loyalty.domain.cards import CardRef
from loyalty.models import CampaignAudience
from loyalty.selectors.campaigns import campaign_audience, campaign_audience_count
from loyalty.services.cards import card_deactivate
from loyalty.services.points import points_earn
from loyalty.services.stamps import stamp_add
from tests import factories

NOW = timezone.now()


@pytest.fixture
def seeded(store, program, reward, other_card, owner):
    """Four cards of Café Alpha: enrolled 100, 40 and 5 days ago, and one deactivated; one of Bakery Beta."""
    old = factories.make_card(store, now=NOW - timedelta(days=100))
    middle = factories.make_card(store, now=NOW - timedelta(days=40))
    recent = factories.make_card(store, now=NOW - timedelta(days=5))
    gone = factories.make_card(store, now=NOW - timedelta(days=5))
    card_deactivate(actor=owner, card_ref=CardRef(card_id=gone.pk), reason="lost")
    return {"old": old, "middle": middle, "recent": recent, "gone": gone}


def _ids(queryset):
    return set(queryset.values_list("pk", flat=True))


def test_all_active_cards_leaves_out_deactivated_cards_and_other_merchants(merchant, seeded, other_card):
    cards = campaign_audience(merchant=merchant, kind=CampaignAudience.ALL_ACTIVE)
    assert _ids(cards) == {seeded["old"].pk, seeded["middle"].pk, seeded["recent"].pk}
    assert campaign_audience_count(merchant=merchant, kind="all_active") == 3


def test_active_recently_counts_any_ledger_row_in_the_last_days(merchant, seeded, actor):
    # given: the oldest card got a stamp 10 days ago
    stamp_add(actor=actor, card_ref=CardRef(card_id=seeded["old"].pk), now=NOW - timedelta(days=10))
    # then
    cards = campaign_audience(merchant=merchant, kind="active_recently", days=30, now=NOW)
    assert _ids(cards) == {seeded["old"].pk, seeded["recent"].pk}


def test_inactive_is_the_complement_among_active_cards(merchant, seeded, actor):
    stamp_add(actor=actor, card_ref=CardRef(card_id=seeded["old"].pk), now=NOW - timedelta(days=10))
    cards = campaign_audience(merchant=merchant, kind="inactive", days=30, now=NOW)
    assert _ids(cards) == {seeded["middle"].pk}
    assert _ids(campaign_audience(merchant=merchant, kind="inactive", days=200, now=NOW)) == set()


def test_can_redeem_takes_the_stamp_target_or_the_cheapest_active_reward(merchant, program, seeded, actor, reward):
    # given: "middle" has the stamp target, "recent" enough points for the cheapest reward (100)
    program.stamps_target = 2
    program.cooldown_minutes = 0
    program.save()
    for minutes in (60, 30):
        stamp_add(actor=actor, card_ref=CardRef(card_id=seeded["middle"].pk), now=NOW - timedelta(minutes=minutes))
    points_earn(actor=actor, card_ref=CardRef(card_id=seeded["recent"].pk), purchase_amount_cents=1000)  # 100 points
    points_earn(actor=actor, card_ref=CardRef(card_id=seeded["old"].pk), purchase_amount_cents=500)  # 50 points
    # then
    assert _ids(campaign_audience(merchant=merchant, kind="can_redeem")) == {seeded["middle"].pk, seeded["recent"].pk}
    # a cheaper reward brings the 50-point card in; an inactive one does not
    factories.make_reward(program, "Biscuit", 40, is_active=False)
    assert seeded["old"].pk not in _ids(campaign_audience(merchant=merchant, kind="can_redeem"))
    factories.make_reward(program, "Cookie", 50)
    assert seeded["old"].pk in _ids(campaign_audience(merchant=merchant, kind="can_redeem"))


def test_enrolled_at_store_and_a_store_of_another_merchant_matches_nothing(merchant, store, seeded, other_store):
    second = factories.make_store(merchant)
    elsewhere = factories.make_card(second)
    assert _ids(campaign_audience(merchant=merchant, kind="enrolled_at_store", store=second)) == {elsewhere.pk}
    assert len(_ids(campaign_audience(merchant=merchant, kind="enrolled_at_store", store=store))) == 3
    assert _ids(campaign_audience(merchant=merchant, kind="enrolled_at_store", store=other_store)) == set()


def test_another_merchant_sees_only_its_own_cards(other_merchant, seeded, other_card):
    assert _ids(campaign_audience(merchant=other_merchant, kind="all_active")) == {other_card.pk}


@pytest.mark.parametrize("kind", ["active_recently", "inactive"])
def test_audiences_in_days_need_the_days(merchant, kind):
    with pytest.raises(ValueError):
        campaign_audience(merchant=merchant, kind=kind)
