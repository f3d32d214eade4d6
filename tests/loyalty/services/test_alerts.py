"""The fraud-alert detector: each rule fires once at its threshold, not below, not twice; reviews stick."""

from datetime import UTC, datetime, time, timedelta

import pytest

from loyalty.exceptions import AlertAlreadyReviewed, AlertNotFound, PermissionDenied, ValidationFailed
from loyalty.models import Alert, AlertRule, AlertStatus, LoyaltyTransaction, MerchantSettings, TransactionType
from loyalty.services.alerts import alert_confirm, alert_dismiss, alerts_detect
from tests import factories

pytestmark = pytest.mark.django_db

# Thursday 13 March 2025, 14:00 in Luxembourg (UTC+1).
NOW = datetime(2025, 3, 13, 13, 0, tzinfo=UTC)


@pytest.fixture
def shop():
    merchant = factories.make_merchant("Café Alerts", slug="cafe-alerts")
    store = factories.make_store(merchant, code="alerts-centre", timezone="Europe/Luxembourg")
    factories.make_program(merchant)
    return store


def row(card, kind, at, *, pin=None, user=None, points_delta=0, store=None):
    """A ledger row at a chosen time: the detector reads rows, it does not care how they were written."""
    return LoyaltyTransaction.objects.create(
        card=card,
        merchant=card.merchant,
        store=store,
        staff_pin=pin,
        acting_user=user,
        type=kind,
        points_delta=points_delta,
        stamp_balance_after=0,
        points_balance_after=0,
        created_at=at,
    )


def earnings(card, store, count, *, start=NOW - timedelta(hours=3), pin=None, kind=TransactionType.STAMP_EARNED):
    return [
        LoyaltyTransaction.objects.create(
            card=card,
            merchant=card.merchant,
            store=store,
            staff_pin=pin,
            type=kind,
            stamps_delta=1,
            stamp_balance_after=0,
            points_balance_after=0,
            created_at=start + timedelta(minutes=index),
        )
        for index in range(count)
    ]


def configure(store, **fields):
    MerchantSettings.objects.update_or_create(merchant=store.merchant, defaults=fields)


def only_rule(store, rule):
    """Switch the other rules off, so a test's seeded ledger is judged by one rule."""
    configure(store, **{f"alert_{other}_enabled": other == rule for other in RULES_WITH_SETTINGS})


RULES_WITH_SETTINGS = (
    "busy_card",
    "large_adjustment",
    "void_rate",
    "staff_favourite",
    "pin_guessing",
    "enrollment_burst",
    "out_of_hours",
)


# --- rule 1: busy card -----------------------------------------------------------------------------------------------


def test_busy_card_fires_once_above_the_daily_limit(shop):
    card = factories.make_card(shop)
    rows = earnings(card, shop, 6)

    created = alerts_detect(merchant=shop.merchant, now=NOW)

    assert len(created) == 1
    alert = created[0]
    assert alert.rule == AlertRule.BUSY_CARD and alert.card == card and alert.store == shop
    assert alert.status == AlertStatus.OPEN
    assert alert.evidence == {"operations": 6, "limit": 5, "transaction_ids": [tx.pk for tx in rows]}
    # The store-local day (Luxembourg, UTC+1), not the UTC one.
    assert alert.window_start_at == datetime(2025, 3, 12, 23, 0, tzinfo=UTC)
    assert alert.window_end_at == datetime(2025, 3, 13, 23, 0, tzinfo=UTC)


def test_busy_card_is_silent_at_the_limit(shop):
    card = factories.make_card(shop)
    earnings(card, shop, 5)
    assert alerts_detect(merchant=shop.merchant, now=NOW) == []
    assert not Alert.objects.exists()


def test_busy_card_is_not_raised_twice_for_the_same_day(shop):
    card = factories.make_card(shop)
    earnings(card, shop, 6)
    alerts_detect(merchant=shop.merchant, now=NOW)
    earnings(card, shop, 3, start=NOW + timedelta(minutes=5))

    assert alerts_detect(merchant=shop.merchant, now=NOW + timedelta(minutes=15)) == []
    assert Alert.objects.count() == 1


def test_busy_card_counts_each_local_day_on_its_own(shop):
    card = factories.make_card(shop)
    # 4 before and 4 after Luxembourg midnight (23:00 UTC): neither day has more than 5.
    earnings(card, shop, 4, start=datetime(2025, 3, 12, 22, 50, tzinfo=UTC))
    earnings(card, shop, 4, start=datetime(2025, 3, 12, 23, 10, tzinfo=UTC))
    assert alerts_detect(merchant=shop.merchant, now=NOW) == []


def test_busy_card_off_switch_and_threshold_come_from_the_merchant_settings(shop):
    card = factories.make_card(shop)
    earnings(card, shop, 6)
    configure(shop, alert_busy_card_enabled=False)
    assert alerts_detect(merchant=shop.merchant, now=NOW) == []
    configure(shop, alert_busy_card_enabled=True, alert_busy_card_max_operations=6)
    assert alerts_detect(merchant=shop.merchant, now=NOW) == []
    configure(shop, alert_busy_card_max_operations=5)
    assert len(alerts_detect(merchant=shop.merchant, now=NOW)) == 1


def test_a_dismissed_alert_stays_dismissed(shop):
    card = factories.make_card(shop)
    earnings(card, shop, 6)
    [alert] = alerts_detect(merchant=shop.merchant, now=NOW)
    owner = factories.make_user(role="owner", merchant=shop.merchant, stores=[shop])
    alert_dismiss(actor=factories.owner_actor(shop, user=owner), alert_id=alert.pk, reason="Office party")

    assert alerts_detect(merchant=shop.merchant, now=NOW + timedelta(hours=1)) == []
    alert.refresh_from_db()
    assert alert.status == AlertStatus.DISMISSED and Alert.objects.count() == 1


def test_the_detector_reads_only_its_merchant(shop):
    other_store = factories.make_store(factories.make_merchant("Other", slug="other-shop"), code="other-shop")
    factories.make_program(other_store.merchant)
    earnings(factories.make_card(other_store), other_store, 9)
    assert alerts_detect(merchant=shop.merchant, now=NOW) == []


# --- rule 5: large adjustment ----------------------------------------------------------------------------------------


def test_large_adjustment_fires_above_the_threshold_in_either_direction(shop):
    card = factories.make_card(shop)
    owner = factories.make_user(role="owner", merchant=shop.merchant, stores=[shop])
    at = NOW - timedelta(hours=1)
    row(card, TransactionType.POINTS_ADJUSTED, at, user=owner, points_delta=1000, store=shop)
    added = row(card, TransactionType.POINTS_ADJUSTED, at, user=owner, points_delta=1001, store=shop)
    removed = row(card, TransactionType.POINTS_ADJUSTED, at, user=owner, points_delta=-1500, store=shop)

    created = alerts_detect(merchant=shop.merchant, now=NOW)

    assert sorted(alert.evidence["transaction_ids"][0] for alert in created) == [added.pk, removed.pk]
    assert all(alert.rule == AlertRule.LARGE_ADJUSTMENT and alert.user == owner for alert in created)
    assert alerts_detect(merchant=shop.merchant, now=NOW + timedelta(minutes=15)) == []
    assert Alert.objects.count() == 2


def test_large_adjustment_off_switch(shop):
    card = factories.make_card(shop)
    row(card, TransactionType.POINTS_ADJUSTED, NOW, points_delta=5000, store=shop)
    configure(shop, alert_large_adjustment_enabled=False)
    assert alerts_detect(merchant=shop.merchant, now=NOW) == []


# --- rule 4: void rate -----------------------------------------------------------------------------------------------


def _staff_day(store, pin, *, operations, voids, start=NOW - timedelta(days=2)):
    card = factories.make_card(store)
    earned = earnings(card, store, operations - voids, pin=pin, start=start)
    return [
        row(card, TransactionType.STAMP_VOIDED, start + timedelta(hours=1, minutes=index), pin=pin, store=store)
        for index in range(voids)
    ], earned


def test_void_rate_fires_above_the_share_over_the_minimum_volume(shop):
    pin = factories.make_pin(shop, pin="5555")
    voids, _earned = _staff_day(shop, pin, operations=10, voids=3)  # 30% > 20%

    [alert] = alerts_detect(merchant=shop.merchant, now=NOW)

    assert alert.rule == AlertRule.VOID_RATE and alert.staff_pin == pin and alert.store == shop
    assert alert.evidence == {
        "operations": 10,
        "voids": 3,
        "percent_limit": 20,
        "transaction_ids": [tx.pk for tx in voids],
    }
    # The 7 Luxembourg days ending today.
    assert alert.window_start_at == datetime(2025, 3, 6, 23, 0, tzinfo=UTC)
    assert alert.window_end_at == datetime(2025, 3, 13, 23, 0, tzinfo=UTC)


def test_void_rate_is_silent_at_the_share_and_below_the_minimum_volume(shop):
    _staff_day(shop, factories.make_pin(shop, pin="5555"), operations=10, voids=2)  # exactly 20%
    _staff_day(shop, factories.make_pin(shop, pin="6666"), operations=9, voids=5)  # too few operations
    assert alerts_detect(merchant=shop.merchant, now=NOW) == []


def test_void_rate_is_raised_once_per_seven_days(shop):
    only_rule(shop, "void_rate")
    pin = factories.make_pin(shop, pin="5555")
    _staff_day(shop, pin, operations=10, voids=3)
    assert len(alerts_detect(merchant=shop.merchant, now=NOW)) == 1
    # The next days' windows overlap the first one: no new alert.
    assert alerts_detect(merchant=shop.merchant, now=NOW + timedelta(days=1)) == []
    assert alerts_detect(merchant=shop.merchant, now=NOW + timedelta(days=6)) == []
    # A week later, the same behaviour again is a new finding.
    _staff_day(shop, pin, operations=10, voids=3, start=NOW + timedelta(days=7))
    assert len(alerts_detect(merchant=shop.merchant, now=NOW + timedelta(days=7, hours=3))) == 1


def test_void_rate_judges_a_user_without_a_pin(shop):
    only_rule(shop, "void_rate")
    manager = factories.make_user(role="manager", merchant=shop.merchant, stores=[shop])
    card = factories.make_card(shop)
    for index in range(7):
        row(card, TransactionType.POINTS_EARNED, NOW - timedelta(hours=5, minutes=index), user=manager, store=shop)
    for index in range(3):
        row(card, TransactionType.POINTS_VOIDED, NOW - timedelta(hours=4, minutes=index), user=manager, store=shop)
    [alert] = alerts_detect(merchant=shop.merchant, now=NOW)
    assert alert.user == manager and alert.staff_pin is None and alert.subject_key == f"user:{manager.pk}"


# --- rule 2: staff favourite -----------------------------------------------------------------------------------------


def test_staff_favourite_fires_when_one_card_gets_more_than_its_share(shop):
    pin = factories.make_pin(shop, pin="5555")
    favourite = factories.make_card(shop)
    favourite_rows = earnings(favourite, shop, 4, pin=pin, start=NOW - timedelta(days=3))
    for index in range(6):
        earnings(factories.make_card(shop), shop, 1, pin=pin, start=NOW - timedelta(days=2, minutes=index))

    [alert] = alerts_detect(merchant=shop.merchant, now=NOW)  # 4 of 10 = 40% > 30%

    assert alert.rule == AlertRule.STAFF_FAVOURITE
    assert (alert.staff_pin, alert.card) == (pin, favourite)
    assert alert.evidence == {
        "operations": 10,
        "card_operations": 4,
        "percent_limit": 30,
        "transaction_ids": [tx.pk for tx in favourite_rows],
    }
    assert alerts_detect(merchant=shop.merchant, now=NOW + timedelta(minutes=15)) == []


def test_staff_favourite_is_silent_at_the_share_and_below_the_minimum_volume(shop):
    pin = factories.make_pin(shop, pin="5555")
    earnings(factories.make_card(shop), shop, 3, pin=pin, start=NOW - timedelta(days=3))  # 3 of 10 = 30%
    for index in range(7):
        earnings(factories.make_card(shop), shop, 1, pin=pin, start=NOW - timedelta(days=2, minutes=index))
    small = factories.make_pin(shop, pin="6666")
    earnings(factories.make_card(shop), shop, 5, pin=small, start=NOW - timedelta(days=3))  # 100% of only 5
    assert alerts_detect(merchant=shop.merchant, now=NOW) == []


def test_staff_favourite_ignores_operations_older_than_seven_days(shop):
    pin = factories.make_pin(shop, pin="5555")
    earnings(factories.make_card(shop), shop, 4, pin=pin, start=NOW - timedelta(days=8))
    for index in range(6):
        earnings(factories.make_card(shop), shop, 1, pin=pin, start=NOW - timedelta(days=2, minutes=index))
    assert alerts_detect(merchant=shop.merchant, now=NOW) == []


# --- review ----------------------------------------------------------------------------------------------------------


@pytest.fixture
def open_alert(shop):
    earnings(factories.make_card(shop), shop, 6)
    return alerts_detect(merchant=shop.merchant, now=NOW)[0]


def test_owner_confirms_an_alert(shop, open_alert):
    owner = factories.make_user(role="owner", merchant=shop.merchant, stores=[shop])
    result = alert_confirm(actor=factories.owner_actor(shop, user=owner), alert_id=open_alert.pk, reason="Her own card")
    open_alert.refresh_from_db()
    assert result.previous_status == AlertStatus.OPEN
    assert open_alert.status == AlertStatus.CONFIRMED and open_alert.status_reason == "Her own card"
    assert open_alert.status_changed_by == owner and open_alert.status_changed_at is not None


def test_dismiss_needs_a_reason_and_an_owner_or_the_stores_manager_and_a_reviewed_alert_stays_as_it_is(
    shop, open_alert
):
    owner = factories.make_user(role="owner", merchant=shop.merchant, stores=[shop])
    staff = factories.make_user(role="staff", merchant=shop.merchant, stores=[shop])
    elsewhere = factories.make_store(shop.merchant, code="alerts-elsewhere")
    other_manager = factories.make_user(role="manager", merchant=shop.merchant, stores=[elsewhere])
    with pytest.raises(ValidationFailed):
        alert_dismiss(actor=factories.owner_actor(shop, user=owner), alert_id=open_alert.pk, reason="  ")
    with pytest.raises(PermissionDenied):
        alert_dismiss(actor=factories.till_actor(shop, role="staff", user=staff), alert_id=open_alert.pk, reason="x")
    with pytest.raises(AlertNotFound):  # a manager of another store does not see it
        alert_dismiss(
            actor=factories.till_actor(elsewhere, role="manager", user=other_manager),
            alert_id=open_alert.pk,
            reason="x",
        )
    open_alert.refresh_from_db()
    assert open_alert.status == AlertStatus.OPEN and open_alert.status_changed_by is None

    alert_dismiss(actor=factories.owner_actor(shop, user=owner), alert_id=open_alert.pk, reason="Team lunch")
    with pytest.raises(AlertAlreadyReviewed):
        alert_confirm(actor=factories.owner_actor(shop, user=owner), alert_id=open_alert.pk)
    open_alert.refresh_from_db()
    assert open_alert.status == AlertStatus.DISMISSED and open_alert.status_reason == "Team lunch"


def test_another_merchants_owner_cannot_review_the_alert(shop, open_alert):
    other_store = factories.make_store(factories.make_merchant("Other", slug="other-shop"), code="other-shop")
    with pytest.raises(AlertNotFound):
        alert_dismiss(actor=factories.owner_actor(other_store), alert_id=open_alert.pk, reason="not mine")
    open_alert.refresh_from_db()
    assert open_alert.status == AlertStatus.OPEN


def test_busy_card_day_is_23_hours_long_when_the_clocks_go_forward(shop):
    card = factories.make_card(shop)
    # Sunday 30 March 2025: Luxembourg goes from UTC+1 to UTC+2 at 02:00 local.
    earnings(card, shop, 6, start=datetime(2025, 3, 30, 21, 0, tzinfo=UTC))
    [alert] = alerts_detect(merchant=shop.merchant, now=datetime(2025, 3, 30, 21, 30, tzinfo=UTC))
    assert alert.window_start_at == datetime(2025, 3, 29, 23, 0, tzinfo=UTC)
    assert alert.window_end_at == datetime(2025, 3, 30, 22, 0, tzinfo=UTC)


# --- rule 6: PIN guessing --------------------------------------------------------------------------------------------


def _guess(store, pin, times, *, at):
    from loyalty.exceptions import LoyaltyError
    from staff.services.pins import pin_verify

    for attempt in range(times):
        with pytest.raises(LoyaltyError):
            pin_verify(store=store, pin="0000", staff_pin_id=pin.pk, now=at + timedelta(seconds=attempt))


def test_pin_guessing_raises_the_pin_and_the_store_lockout_once(shop):
    configure(shop, pin_max_failed_attempts=3, pin_lockout_minutes=15)
    only_rule(shop, "pin_guessing")
    pin = factories.make_pin(shop, pin="5555")
    _guess(shop, pin, 3, at=NOW - timedelta(minutes=5))

    created = alerts_detect(merchant=shop.merchant, now=NOW)

    assert sorted(alert.subject_key for alert in created) == [f"pin:{pin.pk}", f"store:{shop.pk}"]
    assert all(alert.rule == AlertRule.PIN_GUESSING and alert.store == shop for alert in created)
    pin_alert = next(alert for alert in created if alert.staff_pin_id)
    assert pin_alert.evidence == {"locked": "pin", "failed_attempts": 3}
    assert pin_alert.window_end_at - pin_alert.window_start_at == timedelta(minutes=15)
    assert alerts_detect(merchant=shop.merchant, now=NOW + timedelta(minutes=15)) == []


def test_pin_guessing_is_silent_below_the_lockout_and_when_switched_off(shop):
    configure(shop, pin_max_failed_attempts=3)
    only_rule(shop, "pin_guessing")
    pin = factories.make_pin(shop, pin="5555")
    _guess(shop, pin, 2, at=NOW - timedelta(minutes=5))
    assert alerts_detect(merchant=shop.merchant, now=NOW) == []
    _guess(shop, pin, 1, at=NOW - timedelta(minutes=1))
    configure(shop, alert_pin_guessing_enabled=False)
    assert alerts_detect(merchant=shop.merchant, now=NOW) == []


# --- rule 7: enrollment burst ----------------------------------------------------------------------------------------


def _enrollments(store, count, *, start, ip="203.0.113.7"):
    return [
        LoyaltyTransaction.objects.create(
            card=factories.make_card(store),
            merchant=store.merchant,
            store=store,
            type=TransactionType.CARD_ENROLLED,
            stamp_balance_after=0,
            points_balance_after=0,
            ip_address=ip,
            created_at=start + timedelta(minutes=2 * index),
        )
        for index in range(count)
    ]


def test_enrollment_burst_fires_once_above_the_hourly_limit(shop):
    only_rule(shop, "enrollment_burst")
    rows = _enrollments(shop, 11, start=NOW - timedelta(hours=2))  # 11:00 to 11:20 UTC

    [alert] = alerts_detect(merchant=shop.merchant, now=NOW)

    assert (alert.rule, alert.store, alert.ip_address) == (AlertRule.ENROLLMENT_BURST, shop, "203.0.113.7")
    assert alert.evidence == {"enrollments": 11, "limit": 10, "transaction_ids": [tx.pk for tx in rows]}
    assert (alert.window_start_at, alert.window_end_at) == (NOW - timedelta(hours=2), NOW - timedelta(hours=1))
    assert alerts_detect(merchant=shop.merchant, now=NOW + timedelta(minutes=15)) == []


def test_enrollment_burst_is_silent_at_the_limit_across_hours_and_across_addresses(shop):
    only_rule(shop, "enrollment_burst")
    _enrollments(shop, 10, start=NOW - timedelta(hours=5))
    _enrollments(shop, 6, start=NOW - timedelta(hours=3, minutes=12))  # 6 before 10:00 UTC...
    _enrollments(shop, 5, start=NOW - timedelta(hours=3))  # ...and 5 after it
    _enrollments(shop, 6, start=NOW - timedelta(hours=1), ip="203.0.113.8")
    _enrollments(shop, 6, start=NOW - timedelta(hours=1), ip="203.0.113.9")
    assert alerts_detect(merchant=shop.merchant, now=NOW) == []
    configure(shop, alert_enrollment_burst_max_enrollments=5, alert_enrollment_burst_enabled=False)
    assert alerts_detect(merchant=shop.merchant, now=NOW) == []
    configure(shop, alert_enrollment_burst_enabled=True)
    assert len(alerts_detect(merchant=shop.merchant, now=NOW)) == 4  # each group of 6 or more, the 5 not


# --- rule 3: out of hours --------------------------------------------------------------------------------------------


def _hours(store, *ranges):
    from loyalty.models import StoreOpeningHours

    for weekday, opens, closes in ranges:
        StoreOpeningHours.objects.create(store=store, weekday=weekday, opens=opens, closes=closes)


def test_out_of_hours_fires_per_staff_member_and_day_above_the_limit(shop):
    only_rule(shop, "out_of_hours")
    configure(shop, alert_out_of_hours_max_operations=1)
    _hours(shop, (3, time(8), time(13)))  # Thursday 08:00–13:00 only: NOW (14:00 local) is after closing
    pin = factories.make_pin(shop, pin="5555")
    other_pin = factories.make_pin(shop, pin="6666")
    card = factories.make_card(shop)
    inside = earnings(card, shop, 3, pin=pin, start=datetime(2025, 3, 13, 9, 0, tzinfo=UTC))  # 10:00 local
    outside = earnings(card, shop, 2, pin=pin, start=NOW - timedelta(minutes=30))  # 13:30 local
    earnings(card, shop, 1, pin=other_pin, start=NOW - timedelta(minutes=20))  # one, at the limit

    created = alerts_detect(merchant=shop.merchant, now=NOW)

    assert len(created) == 1
    alert = created[0]
    assert (alert.rule, alert.staff_pin, alert.store) == (AlertRule.OUT_OF_HOURS, pin, shop)
    assert alert.evidence == {"operations": 2, "limit": 1, "transaction_ids": [tx.pk for tx in outside]}
    assert not set(alert.evidence["transaction_ids"]) & {tx.pk for tx in inside}
    assert (alert.window_start_at, alert.window_end_at) == (
        datetime(2025, 3, 12, 23, 0, tzinfo=UTC),
        datetime(2025, 3, 13, 23, 0, tzinfo=UTC),
    )
    # Not twice for the same day, even with more operations after closing.
    earnings(card, shop, 2, pin=pin, start=NOW + timedelta(minutes=1))
    assert alerts_detect(merchant=shop.merchant, now=NOW + timedelta(minutes=15)) == []
    assert Alert.objects.count() == 1


def test_out_of_hours_default_fires_on_the_first_operation_and_not_inside_hours(shop):
    only_rule(shop, "out_of_hours")
    _hours(shop, (3, time(8), time(15)))  # NOW (14:00 local) is inside
    card = factories.make_card(shop)
    pin = factories.make_pin(shop, pin="5555")
    earnings(card, shop, 4, pin=pin, start=NOW - timedelta(hours=1))
    assert alerts_detect(merchant=shop.merchant, now=NOW) == []

    late = earnings(card, shop, 1, pin=pin, start=datetime(2025, 3, 13, 14, 30, tzinfo=UTC))  # 15:30 local
    earnings(card, shop, 2, start=datetime(2025, 3, 13, 14, 40, tzinfo=UTC))  # by nobody (an import): not judged
    created = alerts_detect(merchant=shop.merchant, now=NOW + timedelta(hours=2))
    assert [(alert.subject_key, alert.evidence["transaction_ids"]) for alert in created] == [
        (f"store:{shop.pk}:pin:{pin.pk}", [late[0].pk])
    ]


def test_out_of_hours_is_silent_for_a_store_without_hours_and_when_switched_off(shop):
    only_rule(shop, "out_of_hours")
    card = factories.make_card(shop)
    pin = factories.make_pin(shop, pin="5555")
    earnings(card, shop, 3, pin=pin, start=datetime(2025, 3, 13, 2, 0, tzinfo=UTC))  # 03:00 local, but no hours
    assert alerts_detect(merchant=shop.merchant, now=NOW) == []

    _hours(shop, (3, time(8), time(18)))
    configure(shop, alert_out_of_hours_enabled=False)
    assert alerts_detect(merchant=shop.merchant, now=NOW) == []
    configure(shop, alert_out_of_hours_enabled=True)
    assert len(alerts_detect(merchant=shop.merchant, now=NOW)) == 1


def test_out_of_hours_across_midnight_on_the_spring_forward_night(shop):
    only_rule(shop, "out_of_hours")
    _hours(shop, (5, time(18), time(2)), (6, time(9), time(17)))  # Saturday night, Sunday day
    card = factories.make_card(shop)
    pin = factories.make_pin(shop, pin="5555")
    # Sunday 30 March 2025: 01:30 CET is inside Saturday's night, 03:10 CEST after it, 09:30 CEST inside Sunday.
    inside_night = earnings(card, shop, 1, pin=pin, start=datetime(2025, 3, 30, 0, 30, tzinfo=UTC))
    after_night = earnings(card, shop, 1, pin=pin, start=datetime(2025, 3, 30, 1, 10, tzinfo=UTC))
    inside_day = earnings(card, shop, 1, pin=pin, start=datetime(2025, 3, 30, 7, 30, tzinfo=UTC))
    early = earnings(card, shop, 1, pin=pin, start=datetime(2025, 3, 30, 6, 45, tzinfo=UTC))  # 08:45 CEST

    created = alerts_detect(merchant=shop.merchant, now=datetime(2025, 3, 30, 12, 0, tzinfo=UTC))

    assert len(created) == 1
    ids = set(created[0].evidence["transaction_ids"])
    assert ids == {after_night[0].pk, early[0].pk}
    assert not ids & {inside_night[0].pk, inside_day[0].pk}
    # The 23-hour local day.
    assert created[0].window_end_at - created[0].window_start_at == timedelta(hours=23)


def test_out_of_hours_on_the_fall_back_night(shop):
    only_rule(shop, "out_of_hours")
    _hours(shop, (5, time(18), time(2, 30)))
    card = factories.make_card(shop)
    pin = factories.make_pin(shop, pin="5555")
    first_pass = earnings(card, shop, 1, pin=pin, start=datetime(2025, 10, 26, 0, 15, tzinfo=UTC))  # 02:15 CEST: open
    repeated = earnings(card, shop, 1, pin=pin, start=datetime(2025, 10, 26, 1, 15, tzinfo=UTC))  # 02:15 CET: closed

    created = alerts_detect(merchant=shop.merchant, now=datetime(2025, 10, 26, 2, 0, tzinfo=UTC))

    assert [alert.evidence["transaction_ids"] for alert in created] == [[repeated[0].pk]]
    assert first_pass[0].pk not in created[0].evidence["transaction_ids"]
    assert created[0].window_end_at - created[0].window_start_at == timedelta(hours=25)


def test_out_of_hours_reads_only_its_merchant(shop):
    only_rule(shop, "out_of_hours")
    other_store = factories.make_store(factories.make_merchant("Other", slug="other-hours"), code="other-hours")
    factories.make_program(other_store.merchant)
    _hours(other_store, (3, time(8), time(9)))
    earnings(factories.make_card(other_store), other_store, 3, pin=factories.make_pin(other_store, pin="5555"))
    assert alerts_detect(merchant=shop.merchant, now=NOW) == []
    assert len(alerts_detect(merchant=other_store.merchant, now=NOW)) == 1


def _store_guesses(store, times, *, at):
    from loyalty.exceptions import LoyaltyError
    from staff.services.pins import pin_verify

    for attempt in range(times):
        with pytest.raises(LoyaltyError):
            pin_verify(store=store, pin="0000", now=at + timedelta(seconds=attempt))


def test_a_lockout_raises_its_alert_as_it_happens(shop, django_capture_on_commit_callbacks):
    from staff.models import PinLockout

    configure(shop, pin_max_failed_attempts=3, pin_lockout_minutes=15)
    with django_capture_on_commit_callbacks(execute=True):
        _store_guesses(shop, 2, at=NOW)
    assert not Alert.objects.exists() and not PinLockout.objects.exists()

    with django_capture_on_commit_callbacks(execute=True):
        _store_guesses(shop, 1, at=NOW + timedelta(seconds=5))

    lockout = PinLockout.objects.get()
    alert = Alert.objects.get()
    assert (alert.rule, alert.subject_key, alert.store) == (AlertRule.PIN_GUESSING, f"store:{shop.pk}", shop)
    assert (alert.window_start_at, alert.window_end_at) == (lockout.locked_at, lockout.locked_until)
    # The detector's catch-up finds the same finding: nothing new.
    assert alerts_detect(merchant=shop.merchant, now=NOW + timedelta(minutes=1)) == []


def test_repeated_store_lockouts_in_one_local_day(shop, django_capture_on_commit_callbacks):
    configure(shop, pin_max_failed_attempts=3, pin_lockout_minutes=15, alert_store_lockouts_per_day=3)

    def lockout_at(hour, minute=0):
        with django_capture_on_commit_callbacks(execute=True):
            _store_guesses(shop, 3, at=datetime(2025, 3, 13, hour, minute, tzinfo=UTC))

    lockout_at(20)
    lockout_at(21)
    assert not Alert.objects.filter(subject_key__endswith=":lockouts").exists()  # two: below the setting

    lockout_at(22)  # Thursday's third (23:00 in Luxembourg)

    repeated = Alert.objects.get(subject_key=f"store:{shop.pk}:lockouts")
    assert repeated.evidence == {"lockouts": 3, "limit": 3}
    assert (repeated.window_start_at, repeated.window_end_at) == (
        datetime(2025, 3, 12, 23, 0, tzinfo=UTC),
        datetime(2025, 3, 13, 23, 0, tzinfo=UTC),
    )
    lockout_at(22, 30)  # a fourth the same day: no second alert
    lockout_at(23, 30)  # Friday 00:30 in Luxembourg: Friday's first
    assert Alert.objects.filter(subject_key=f"store:{shop.pk}:lockouts").count() == 1
    assert Alert.objects.filter(subject_key=f"store:{shop.pk}").count() == 5  # one per lockout


def test_lockout_alerts_follow_the_off_switch(shop, django_capture_on_commit_callbacks):
    configure(shop, pin_max_failed_attempts=3, alert_pin_guessing_enabled=False)
    with django_capture_on_commit_callbacks(execute=True):
        _store_guesses(shop, 3, at=NOW)
    assert not Alert.objects.exists()
