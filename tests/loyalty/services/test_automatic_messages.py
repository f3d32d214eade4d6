"""Automatic messages with a controlled clock: each fires once per crossing or period, in the merchant's
sending window, to the merchant's own customers only; the birthday bonus is one BONUS ledger row a year."""

from datetime import UTC, datetime, timedelta

import pytest
from django.core import mail

from loyalty.domain.cards import CardRef
from loyalty.models import (
    AutomaticMessageDelivery,
    Customer,
    LoyaltyCard,
    LoyaltyTransaction,
    TransactionType,
)
from loyalty.selectors.automatic_messages import card_points_expire_at
from loyalty.selectors.wallet import card_news_get
from loyalty.services.automatic_messages import automatic_messages_run, birthday_matches, card_bonus_add
from loyalty.services.customers import customer_erase, customer_export
from loyalty.services.points import points_earn, points_expire
from loyalty.services.stamps import stamp_add, stamps_redeem
from loyalty.services.tenancy import merchant_settings_update
from tests import factories
from tests.loyalty.services.ledger_checks import assert_ledger_matches_cards

pytestmark = pytest.mark.django_db

# 10:00 in Luxembourg (UTC+2 in summer): inside the 08:00-21:00 window.
MORNING = datetime(2026, 6, 15, 8, 0, tzinfo=UTC)


def _turn_on(store, **fields):
    merchant_settings_update(actor=factories.owner_actor(store), **fields)


def _kinds(card):
    return list(AutomaticMessageDelivery.objects.filter(card=card).order_by("pk").values_list("kind", flat=True))


def _bday_card(store, month, day, **fields):
    card = factories.make_card(store, **fields)
    Customer.objects.filter(pk=card.customer_id).update(birthday_month=month, birthday_day=day)
    return card


@pytest.fixture
def any_hour(settings):
    """The messages that are not about the window: sent at any hour."""
    settings.LOYALTY_CAMPAIGN_WINDOW_START_HOUR = 0
    settings.LOYALTY_CAMPAIGN_WINDOW_END_HOUR = 24


# --- Birthday ----------------------------------------------------------------------------------------------------


def test_a_birthday_gets_one_message_and_one_bonus_a_year(store, program, other_store, other_program):
    _turn_on(store, birthday_message_enabled=True, birthday_bonus_points=50, birthday_bonus_stamps=2)
    _turn_on(other_store, birthday_message_enabled=False)
    card = _bday_card(store, 6, 15, marketing_consent=True, language="fr")
    not_today = _bday_card(store, 6, 16, marketing_consent=True)
    other_merchants = _bday_card(other_store, 6, 15, marketing_consent=True)
    mail.outbox.clear()

    first = automatic_messages_run(now=MORNING)
    again = automatic_messages_run(now=MORNING + timedelta(minutes=15))
    later_that_day = automatic_messages_run(now=MORNING + timedelta(hours=6))

    assert (first.claimed, first.bonuses, first.delivered) == (1, 1, 1)
    assert (again.claimed, again.delivered, later_that_day.claimed) == (0, 0, 0)
    card.refresh_from_db()
    assert (card.stamp_count, card.points_balance) == (2, 50)
    # A gift, not an operation: the earned counters and the last activity do not move.
    assert (card.total_points_earned, card.total_stamps_earned, card.last_activity_at) == (0, 0, None)
    bonus = LoyaltyTransaction.objects.get(card=card, type=TransactionType.BONUS)
    assert (bonus.stamps_delta, bonus.points_delta, bonus.stamp_balance_after, bonus.points_balance_after) == (
        2,
        50,
        2,
        50,
    )
    assert bonus.store is None and bonus.staff_pin is None
    assert _kinds(card) == ["birthday"] and _kinds(not_today) == [] and _kinds(other_merchants) == []
    assert [message.to for message in mail.outbox] == [[card.customer.email]]
    assert "Joyeux anniversaire" in mail.outbox[0].body
    assert "List-Unsubscribe" in mail.outbox[0].extra_headers
    assert LoyaltyTransaction.objects.filter(card=other_merchants, type=TransactionType.BONUS).count() == 0
    assert_ledger_matches_cards()

    next_year = automatic_messages_run(now=MORNING.replace(year=2027))
    assert next_year.bonuses == 1
    assert LoyaltyTransaction.objects.filter(card=card, type=TransactionType.BONUS).count() == 2
    assert_ledger_matches_cards()


def test_the_birthday_waits_for_the_morning_in_the_merchants_time_zone(store, program):
    _turn_on(store, birthday_message_enabled=True, birthday_bonus_points=10)
    card = _bday_card(store, 6, 15)

    # 05:59 UTC is 07:59 in Luxembourg: the window is not open yet.
    assert automatic_messages_run(now=datetime(2026, 6, 15, 5, 59, tzinfo=UTC)).claimed == 0
    assert automatic_messages_run(now=datetime(2026, 6, 15, 6, 0, tzinfo=UTC)).claimed == 1
    card.refresh_from_db()
    assert card.points_balance == 10


def test_the_29th_of_february_is_celebrated_on_the_28th_in_other_years():
    assert birthday_matches(today=datetime(2027, 2, 28).date()) == [(2, 28), (2, 29)]
    assert birthday_matches(today=datetime(2028, 2, 28).date()) == [(2, 28)]
    assert birthday_matches(today=datetime(2028, 2, 29).date()) == [(2, 29)]
    assert birthday_matches(today=datetime(2100, 2, 28).date()) == [(2, 28), (2, 29)]  # not a leap year


def test_a_leap_day_birthday_gets_its_bonus_once_in_a_common_year(store, program):
    _turn_on(store, birthday_message_enabled=True, birthday_bonus_points=5)
    card = _bday_card(store, 2, 29)
    automatic_messages_run(now=datetime(2027, 2, 28, 9, 0, tzinfo=UTC))
    automatic_messages_run(now=datetime(2027, 3, 1, 9, 0, tzinfo=UTC))
    card.refresh_from_db()
    assert card.points_balance == 5


def test_a_stamp_program_gets_only_the_stamps_of_the_bonus_and_an_inactive_card_nothing(merchant, store):
    factories.make_program(merchant, loyalty_type="stamps", stamps_target=10)
    _turn_on(store, birthday_message_enabled=True, birthday_bonus_points=50, birthday_bonus_stamps=1)
    card = _bday_card(store, 6, 15)
    inactive = _bday_card(store, 6, 15)
    LoyaltyCard.objects.filter(pk=inactive.pk).update(is_active=False)

    automatic_messages_run(now=MORNING)

    card.refresh_from_db()
    assert (card.stamp_count, card.points_balance) == (1, 0)
    assert _kinds(inactive) == []
    assert_ledger_matches_cards()


def test_a_bonus_outside_the_bounds_changes_nothing(store, program, card):
    from loyalty.exceptions import ValidationFailed

    with pytest.raises(ValidationFailed):
        card_bonus_add(merchant=store.merchant, card_id=card.pk, points=-5, notes="x")
    with pytest.raises(ValidationFailed):
        card_bonus_add(merchant=store.merchant, card_id=card.pk, stamps=101, notes="x")
    assert not LoyaltyTransaction.objects.filter(type=TransactionType.BONUS).exists()


def test_another_merchant_cannot_give_a_bonus_to_my_card(card, other_merchant):
    assert card_bonus_add(merchant=other_merchant, card_id=card.pk, points=5, notes="x") is None
    card.refresh_from_db()
    assert card.points_balance == 0


def test_the_birthday_is_in_the_export_and_gone_after_erasure(store, program, owner):
    card = _bday_card(store, 12, 24)
    assert customer_export(merchant=store.merchant, customer_id=card.customer_id)["customer"]["birthday"] == {
        "day": 24,
        "month": 12,
    }
    customer_erase(actor=owner, customer_id=card.customer_id)
    customer = Customer.objects.get(pk=card.customer_id)
    assert (customer.birthday_month, customer.birthday_day) == (None, None)
    assert customer_export(merchant=store.merchant, customer_id=card.customer_id)["customer"]["birthday"] is None


# --- Reward ready --------------------------------------------------------------------------------------------------


@pytest.mark.usefixtures("any_hour")
def test_reward_ready_fires_when_the_stamp_target_is_crossed_not_on_every_stamp(
    merchant, store, django_capture_on_commit_callbacks
):
    factories.make_program(merchant, loyalty_type="stamps", stamps_target=3, cooldown_minutes=0, max_daily_stamps=100)
    _turn_on(store, reward_ready_message_enabled=True)
    card = factories.make_card(store, marketing_consent=True)
    actor = factories.till_actor(store)
    mail.outbox.clear()
    now = MORNING
    for _stamp in range(5):
        now += timedelta(minutes=1)
        with django_capture_on_commit_callbacks(execute=True):
            stamp_add(actor=actor, card_ref=CardRef(card_id=card.pk), now=now)
    assert _kinds(card) == ["reward_ready"]
    assert AutomaticMessageDelivery.objects.get(card=card).status == "sent"
    assert len(mail.outbox) == 1 and "reward is ready" in mail.outbox[0].body

    # Redeemed (5 - 3 = 2 left), then crossing the target again: a new crossing, a new message.
    stamps_redeem(actor=actor, card_ref=CardRef(card_id=card.pk), now=now + timedelta(minutes=1))
    with django_capture_on_commit_callbacks(execute=True):
        stamp_add(actor=actor, card_ref=CardRef(card_id=card.pk), now=now + timedelta(minutes=2))
    assert _kinds(card) == ["reward_ready", "reward_ready"]
    assert len(mail.outbox) == 2


@pytest.mark.usefixtures("any_hour")
def test_reward_ready_fires_when_points_first_cover_the_cheapest_active_reward(
    store, program, django_capture_on_commit_callbacks
):
    factories.make_reward(program, "Cake", 300)
    factories.make_reward(program, "Coffee", 100)
    factories.make_reward(program, "Gone", 10, is_active=False)
    _turn_on(store, reward_ready_message_enabled=True)
    card = factories.make_card(store)  # no marketing consent: the passes only
    actor = factories.till_actor(store)
    mail.outbox.clear()
    # 10 points per euro: 50, then 110 (crosses 100), then 200 and 350 (nothing new: already covered).
    for cents, order in ((500, "a"), (600, "b"), (900, "c"), (1500, "d")):
        with django_capture_on_commit_callbacks(execute=True):
            points_earn(
                actor=actor, card_ref=CardRef(card_id=card.pk), purchase_amount_cents=cents, order_reference=order
            )
    # A replayed earn (same order reference) changes nothing and sends nothing.
    with django_capture_on_commit_callbacks(execute=True):
        points_earn(actor=actor, card_ref=CardRef(card_id=card.pk), purchase_amount_cents=600, order_reference="b")

    delivery = AutomaticMessageDelivery.objects.get(card=card)
    assert delivery.kind == "reward_ready" and delivery.status == "sent" and delivery.email_result == "no_consent"
    assert mail.outbox == []
    news = card_news_get(card_id=card.pk)
    assert news.text_for("de") == "Deine Belohnung wartet! Zeig deine Karte an der Kasse, um sie einzulösen."


def test_reward_ready_earned_at_night_waits_for_the_morning(merchant, store, django_capture_on_commit_callbacks):
    factories.make_program(merchant, loyalty_type="stamps", stamps_target=1)
    _turn_on(store, reward_ready_message_enabled=True)
    card = factories.make_card(store)
    night = datetime(2026, 6, 14, 21, 30, tzinfo=UTC)  # 23:30 in Luxembourg
    stamp_add(actor=factories.till_actor(store), card_ref=CardRef(card_id=card.pk), now=night)
    assert AutomaticMessageDelivery.objects.get(card=card).status == "pending"

    assert automatic_messages_run(now=night + timedelta(hours=1)).delivered == 0
    assert automatic_messages_run(now=MORNING).delivered == 1
    assert AutomaticMessageDelivery.objects.get(card=card).status == "sent"


def test_nothing_is_sent_when_the_merchant_has_not_turned_a_message_on(store, program, reward):
    card = _bday_card(store, 6, 15)
    points_earn(actor=factories.till_actor(store), card_ref=CardRef(card_id=card.pk), purchase_amount_cents=2000)
    LoyaltyCard.objects.filter(pk=card.pk).update(last_activity_at=MORNING - timedelta(days=400))
    automatic_messages_run(now=MORNING)
    assert _kinds(card) == []


# --- Points expiring and we miss you ----------------------------------------------------------------------------------


def test_points_expiring_warns_once_per_period_on_the_date_the_expiry_job_uses(store, program):
    program.points_expiration_days = 30
    program.save()
    _turn_on(store, points_expiring_message_enabled=True, points_expiring_days=14)
    card = factories.make_card(store, marketing_consent=True)
    start = MORNING - timedelta(days=100)
    points_earn(
        actor=factories.till_actor(store), card_ref=CardRef(card_id=card.pk), purchase_amount_cents=500, now=start
    )
    card.refresh_from_db()
    expire_at = card_points_expire_at(card=card, program=program)
    assert expire_at == start + timedelta(days=30)

    assert automatic_messages_run(now=expire_at - timedelta(days=15)).claimed == 0
    assert automatic_messages_run(now=expire_at - timedelta(days=13)).claimed == 1
    assert automatic_messages_run(now=expire_at - timedelta(days=12)).claimed == 0
    warning = AutomaticMessageDelivery.objects.get(card=card)
    assert warning.period_key == expire_at.isoformat()

    # The expiry job expires on that very date: not a second before, at once after.
    assert points_expire(now=expire_at).cards == 0
    assert points_expire(now=expire_at + timedelta(seconds=1)).cards == 1
    assert automatic_messages_run(now=expire_at + timedelta(days=1)).claimed == 0  # nothing left to warn about
    assert_ledger_matches_cards()


def test_activity_opens_a_new_expiry_period_with_its_own_warning(store, program):
    program.points_expiration_days = 30
    program.save()
    _turn_on(store, points_expiring_message_enabled=True, points_expiring_days=14)
    card = factories.make_card(store)
    actor = factories.till_actor(store)
    start = MORNING - timedelta(days=200)
    points_earn(actor=actor, card_ref=CardRef(card_id=card.pk), purchase_amount_cents=500, now=start)
    automatic_messages_run(now=start + timedelta(days=20))
    points_earn(
        actor=actor, card_ref=CardRef(card_id=card.pk), purchase_amount_cents=500, now=start + timedelta(days=21)
    )
    automatic_messages_run(now=start + timedelta(days=22))  # the new expiry is 30 days away: no warning yet
    automatic_messages_run(now=start + timedelta(days=41))
    automatic_messages_run(now=start + timedelta(days=42))
    assert _kinds(card) == ["points_expiring", "points_expiring"]


def test_we_miss_you_once_per_inactivity_period(store, program):
    _turn_on(store, we_miss_you_message_enabled=True, we_miss_you_days=60)
    card = factories.make_card(store, marketing_consent=True)
    actor = factories.till_actor(store)
    start = MORNING - timedelta(days=300)
    stamp_add(actor=actor, card_ref=CardRef(card_id=card.pk), now=start)
    mail.outbox.clear()

    assert automatic_messages_run(now=start + timedelta(days=59)).claimed == 0
    assert automatic_messages_run(now=start + timedelta(days=61)).claimed == 1
    assert automatic_messages_run(now=start + timedelta(days=62)).claimed == 0
    assert automatic_messages_run(now=start + timedelta(days=120)).claimed == 0
    assert len(mail.outbox) == 1
    assert AutomaticMessageDelivery.objects.get(card=card).period_key == start.date().isoformat()

    stamp_add(actor=actor, card_ref=CardRef(card_id=card.pk), now=start + timedelta(days=130))
    assert automatic_messages_run(now=start + timedelta(days=180)).claimed == 0
    assert automatic_messages_run(now=start + timedelta(days=191)).claimed == 1
    assert _kinds(card) == ["we_miss_you", "we_miss_you"]


def test_the_merchants_own_text_replaces_the_default_in_its_language_only(store, program):
    _turn_on(store, we_miss_you_message_enabled=True, we_miss_you_text_en="Long time no see! Pie is back.")
    english = factories.make_card(store, marketing_consent=True, language="en")
    german = factories.make_card(store, marketing_consent=True, language="de")
    LoyaltyCard.objects.update(last_activity_at=MORNING - timedelta(days=90))
    mail.outbox.clear()
    automatic_messages_run(now=MORNING)
    bodies = {message.to[0]: message.body for message in mail.outbox}
    assert "Long time no see! Pie is back." in bodies[english.customer.email]
    assert "Wir vermissen dich!" in bodies[german.customer.email]


def test_a_run_is_bounded_and_the_next_one_goes_on(store, program):
    _turn_on(store, we_miss_you_message_enabled=True)
    cards = [factories.make_card(store) for _ in range(5)]
    LoyaltyCard.objects.update(last_activity_at=MORNING - timedelta(days=90))
    assert automatic_messages_run(now=MORNING, batch_size=2).claimed == 2
    assert automatic_messages_run(now=MORNING, batch_size=2).claimed == 2
    assert automatic_messages_run(now=MORNING, batch_size=2).claimed == 1
    assert all(_kinds(card) == ["we_miss_you"] for card in cards)


# --- Welcome -------------------------------------------------------------------------------------------------------


def test_the_welcome_is_the_card_link_email_with_the_welcome_text_once(
    store, program, django_capture_on_commit_callbacks
):
    _turn_on(store, welcome_message_enabled=True)
    mail.outbox.clear()
    with django_capture_on_commit_callbacks(execute=True):
        card = factories.make_card(store, email="new@example.com", language="lb", marketing_consent=False)

    assert [message.to for message in mail.outbox] == [["new@example.com"]]
    body = mail.outbox[0].body
    assert "Wëllkomm!" in body and card.public_token in body
    assert AutomaticMessageDelivery.objects.get(card=card).status == "sent"
    assert card_news_get(card_id=card.pk) is None  # the welcome goes to no pass


def test_without_the_welcome_a_new_card_gets_no_email(store, program, django_capture_on_commit_callbacks):
    mail.outbox.clear()
    with django_capture_on_commit_callbacks(execute=True):
        factories.make_card(store, email="new@example.com")
    assert mail.outbox == []
