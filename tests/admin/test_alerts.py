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
