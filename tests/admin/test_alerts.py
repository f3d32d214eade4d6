"""The Alerts page: owners only, their merchant only; review through the services, audited."""

import pytest
from django.contrib.admin import helpers
from django.urls import reverse

from loyalty.models import AdminAuditLog, Alert, AlertStatus, TransactionType

pytestmark = pytest.mark.django_db

CHANGELIST = "admin:loyalty_alert_changelist"


def _change_url(alert):
    return reverse("admin:loyalty_alert_change", args=[alert.pk])


def _action(client, name, alert, **fields):
    data = {"action": name, helpers.ACTION_CHECKBOX_NAME: [alert.pk], "index": 0, **fields}
    return client.post(reverse(CHANGELIST), data)


def test_owner_lists_alerts_and_filters_them(world, clients):
    page = clients["owner"].get(reverse(CHANGELIST), {"rule__exact": "busy_card", "status__exact": "open"})
    assert page.status_code == 200
    assert list(page.context["cl"].result_list) == [world.alpha.alert]
    by_store = clients["owner"].get(reverse(CHANGELIST), {"store__id__exact": world.alpha.second_store.pk})
    assert list(by_store.context["cl"].result_list) == []
    dismissed = clients["owner"].get(reverse(CHANGELIST), {"status__exact": "dismissed"})
    assert list(dismissed.context["cl"].result_list) == []


def test_detail_links_to_the_card_and_the_ledger_rows(world, clients):
    alert = world.alpha.alert
    page = clients["owner"].get(_change_url(alert)).content.decode()
    assert reverse("admin:loyalty_loyaltycard_change", args=[alert.card_id]) in page
    for pk in alert.evidence["transaction_ids"]:
        assert reverse("admin:loyalty_loyaltytransaction_change", args=[pk]) in page
    assert "operations: 6" in page
    assert 'value="dismiss_alerts"' in page and 'value="confirm_alerts"' in page


def test_another_merchants_alert_is_a_404_and_its_actions_change_nothing(world, clients):
    other = world.beta.alert
    client = clients["owner"]
    assert client.get(_change_url(other)).status_code == 404
    assert client.get(reverse("admin:loyalty_alert_history", args=[other.pk])).status_code == 404
    assert client.post(_change_url(other), {}).status_code == 404
    _action(client, "confirm_alerts", other)
    _action(client, "dismiss_alerts", other, apply="1", reason="not mine")
    other.refresh_from_db()
    assert other.status == AlertStatus.OPEN and other.status_changed_by is None
    assert not AdminAuditLog.objects.filter(object_type="loyalty.Alert").exists()


def _alert_like(alert, **fields):
    """Another alert of the same merchant, differing in ``fields``."""
    values = {
        name: getattr(alert, name)
        for name in ("merchant", "rule", "severity", "card", "store", "window_start_at", "window_end_at", "evidence")
    }
    return Alert.objects.create(**{**values, "subject_key": f"other:{len(fields)}:{fields}", **fields})


def test_managers_see_and_review_the_alerts_of_their_stores_only(world, clients):
    manager = clients["manager"]
    theirs = world.alpha.alert  # at the manager's store
    other_store = _alert_like(theirs, store=world.alpha.second_store)
    no_store = _alert_like(theirs, store=None)
    about_themselves = _alert_like(theirs, user=world.manager)

    page = manager.get(reverse(CHANGELIST))
    assert page.status_code == 200
    assert list(page.context["cl"].result_list) == [theirs]
    for hidden in (other_store, no_store, about_themselves):
        assert manager.get(_change_url(hidden)).status_code == 404
        _action(manager, "confirm_alerts", hidden)
        _action(manager, "dismiss_alerts", hidden, apply="1", reason="mine to hide")
        hidden.refresh_from_db()
        assert hidden.status == AlertStatus.OPEN
    assert set(Alert.objects.filter(status=AlertStatus.OPEN)) >= {other_store, no_store, about_themselves}

    assert manager.get(_change_url(theirs)).status_code == 200
    _action(manager, "dismiss_alerts", theirs, apply="1", reason="Regular customer, checked the receipts")
    theirs.refresh_from_db()
    assert (theirs.status, theirs.status_changed_by) == (AlertStatus.DISMISSED, world.manager)
    assert AdminAuditLog.objects.get(object_type="loyalty.Alert").actor == world.manager
    # The owner sees all of them.
    owner_page = clients["owner"].get(reverse(CHANGELIST))
    assert {theirs, other_store, no_store, about_themselves} <= set(owner_page.context["cl"].result_list)


def test_owner_dismisses_with_a_reason_and_it_is_audited(world, clients):
    alert = world.alpha.alert
    form_page = _action(clients["owner"], "dismiss_alerts", alert)
    assert form_page.status_code == 200 and 'name="reason"' in form_page.content.decode()
    _action(clients["owner"], "dismiss_alerts", alert, apply="1", reason="")  # a reason is required
    alert.refresh_from_db()
    assert alert.status == AlertStatus.OPEN

    _action(clients["owner"], "dismiss_alerts", alert, apply="1", reason="Birthday party order")

    alert.refresh_from_db()
    assert (alert.status, alert.status_reason, alert.status_changed_by) == (
        AlertStatus.DISMISSED,
        "Birthday party order",
        world.owner,
    )
    entry = AdminAuditLog.objects.get(object_type="loyalty.Alert", object_id=str(alert.pk))
    assert entry.actor == world.owner and entry.merchant == world.alpha.merchant
    assert entry.changes == {"status": ["open", "dismissed"]}
    # Reviewed: the detail page offers no more actions.
    assert 'value="confirm_alerts"' not in clients["owner"].get(_change_url(alert)).content.decode()


def test_owner_confirms_and_it_is_audited(world, clients):
    alert = world.alpha.alert
    _action(clients["owner"], "confirm_alerts", alert)
    alert.refresh_from_db()
    assert alert.status == AlertStatus.CONFIRMED and alert.status_changed_by == world.owner
    assert AdminAuditLog.objects.get(object_type="loyalty.Alert").changes == {"status": ["open", "confirmed"]}


def test_dashboard_shows_the_owner_the_open_alert_count(world, clients):
    page = clients["owner"].get(reverse("admin:index")).content.decode()
    assert "1 open alert" in page and reverse(CHANGELIST) in page
    _action(clients["owner"], "confirm_alerts", world.alpha.alert)
    assert "0 open alerts" in clients["owner"].get(reverse("admin:index")).content.decode()
    assert "open alert" not in clients["staff"].get(reverse("admin:index")).content.decode()


def test_dashboard_counts_a_managers_alerts_only(world, clients):
    _alert_like(world.alpha.alert, store=world.alpha.second_store)
    assert "2 open alerts" in clients["owner"].get(reverse("admin:index")).content.decode()
    assert "1 open alert" in clients["manager"].get(reverse("admin:index")).content.decode()


def test_owner_deactivates_the_card_and_the_pin_from_the_alert_through_the_services(world, clients):
    alert = world.alpha.alert
    Alert.objects.filter(pk=alert.pk).update(staff_pin=world.alpha.pin)
    page = clients["owner"].get(_change_url(alert)).content.decode()
    assert 'value="deactivate_alert_cards"' in page and 'value="deactivate_alert_staff_pins"' in page

    _action(clients["owner"], "deactivate_alert_cards", alert)
    _action(clients["owner"], "deactivate_alert_staff_pins", alert)

    world.alpha.card.refresh_from_db()
    world.alpha.pin.refresh_from_db()
    assert world.alpha.card.is_active is False and world.alpha.pin.is_active is False
    # card_deactivate wrote its ledger row; both changes are in the audit log.
    assert world.alpha.card.transactions.filter(type=TransactionType.CARD_DEACTIVATED).count() == 1
    audited = set(AdminAuditLog.objects.filter(action="change").values_list("object_type", flat=True))
    assert {"loyalty.LoyaltyCard", "staff.StaffPin"} <= audited
    page = clients["owner"].get(_change_url(alert)).content.decode()
    assert 'value="deactivate_alert_cards"' not in page and 'value="deactivate_alert_staff_pins"' not in page


def test_deactivating_from_another_merchants_alert_changes_nothing(world, clients):
    other = world.beta.alert
    Alert.objects.filter(pk=other.pk).update(staff_pin=world.beta.pin)
    _action(clients["owner"], "deactivate_alert_cards", other)
    _action(clients["owner"], "deactivate_alert_staff_pins", other)
    world.beta.card.refresh_from_db()
    world.beta.pin.refresh_from_db()
    assert world.beta.card.is_active and world.beta.pin.is_active


# --- staff activity report -------------------------------------------------------------------------------------------

ACTIVITY = "admin:loyalty_alert_staff_activity"
ACTIVITY_CSV = "admin:loyalty_alert_staff_activity_export"


def _activity_filters(**extra):
    from django.utils import timezone

    today = timezone.localdate()
    return {"first_day": str(today - timezone.timedelta(days=1)), "last_day": str(today), **extra}


def _stamp(world, side, store, pin):
    from loyalty.models import LoyaltyTransaction

    card = side.card if store == side.store else side.second_store_card
    return LoyaltyTransaction.objects.create(
        card=card,
        merchant=side.merchant,
        store=store,
        staff_pin=pin,
        type=TransactionType.STAMP_EARNED,
        stamps_delta=1,
        stamp_balance_after=1,
        points_balance_after=0,
    )


def test_owner_reads_the_staff_activity_and_exports_it_safely(world, clients):
    from staff.models import StaffPin

    StaffPin.objects.filter(pk=world.alpha.pin.pk).update(name="=HYPERLINK(1)")
    _stamp(world, world.alpha, world.alpha.store, world.alpha.pin)
    _stamp(world, world.beta, world.beta.store, world.beta.pin)

    page = clients["owner"].get(reverse(ACTIVITY), _activity_filters())
    assert page.status_code == 200
    rows = page.context["rows"]
    assert [row[1] for row in rows] == ["=HYPERLINK(1)"]  # the other merchant's barista is not there
    assert reverse("admin:loyalty_alert_staff_activity") in clients["owner"].get(reverse(CHANGELIST)).content.decode()

    export = clients["owner"].get(reverse(ACTIVITY_CSV), _activity_filters())
    assert export.status_code == 200 and export["Content-Type"].startswith("text/csv")
    lines = b"".join(export.streaming_content).decode().splitlines()
    assert lines[0].startswith("day,staff,store,operations,stamps_earned")
    assert len(lines) == 2 and ",'=HYPERLINK(1)," in lines[1]
    assert AdminAuditLog.objects.filter(action="export", object_type="staff activity").exists()


def test_a_manager_reads_the_activity_of_their_stores_only(world, clients):
    from tests import factories

    station_pin = factories.make_pin(world.alpha.second_store, pin="8765", name="Station barista")
    _stamp(world, world.alpha, world.alpha.store, world.alpha.pin)
    _stamp(world, world.alpha, world.alpha.second_store, station_pin)

    page = clients["manager"].get(reverse(ACTIVITY), _activity_filters())
    assert [row[1] for row in page.context["rows"]] == [world.alpha.pin.name]
    owner_page = clients["owner"].get(reverse(ACTIVITY), _activity_filters())
    assert len(owner_page.context["rows"]) == 2
    # The other store of the merchant is not the manager's: a 404, like another merchant's.
    for url in (ACTIVITY, ACTIVITY_CSV):
        assert (
            clients["manager"].get(reverse(url), _activity_filters(store=world.alpha.second_store.pk)).status_code
            == 404
        )
    assert clients["staff"].get(reverse(ACTIVITY)).status_code in (302, 403)


def test_every_alert_view_with_another_merchants_ids_is_a_404_or_nothing(world, clients):
    other = world.beta.alert
    Alert.objects.filter(pk=other.pk).update(staff_pin=world.beta.pin)
    for who in ("owner", "manager"):
        client = clients[who]
        assert client.get(_change_url(other)).status_code == 404
        assert client.get(reverse("admin:loyalty_alert_history", args=[other.pk])).status_code == 404
        assert client.post(_change_url(other), {}).status_code == 404
        for url in (ACTIVITY, ACTIVITY_CSV):
            assert client.get(reverse(url), _activity_filters(store=world.beta.store.pk)).status_code == 404
        listing = client.get(reverse(CHANGELIST), {"store__id__exact": world.beta.store.pk})
        assert listing.status_code == 200 and list(listing.context["cl"].result_list) == []
        for action in ("confirm_alerts", "deactivate_alert_cards", "deactivate_alert_staff_pins"):
            _action(client, action, other)
        _action(client, "dismiss_alerts", other, apply="1", reason="not mine")
    other.refresh_from_db()
    world.beta.card.refresh_from_db()
    world.beta.pin.refresh_from_db()
    assert other.status == AlertStatus.OPEN and world.beta.card.is_active and world.beta.pin.is_active
    # A manager and another store's alert of the same merchant: 404 too.
    station_alert = _alert_like(world.alpha.alert, store=world.alpha.second_store)
    assert clients["manager"].get(_change_url(station_alert)).status_code == 404


def test_an_owner_sets_a_managers_email_language(world, clients):
    membership = world.manager_membership
    url = reverse("admin:staff_membership_change", args=[membership.pk])
    form = {"role": "manager", "stores": [world.alpha.store.pk], "language": "de", "is_active": "on"}
    assert clients["owner"].post(url, form).status_code == 302
    membership.refresh_from_db()
    assert membership.language == "de"
    entry = AdminAuditLog.objects.get(object_type="staff.Membership", action="change")
    assert entry.changes == {"language": ["en", "de"]}
