"""A store's opening hours: an inline on the store page, saved through ``store_opening_hours_replace``, audited."""

from datetime import time

import pytest
from django.urls import reverse

from loyalty.models import AdminAuditLog, StoreOpeningHours

pytestmark = pytest.mark.django_db


def _form(store, hours, existing=0):
    data = {
        "name": store.name,
        "address": store.address,
        "timezone": store.timezone,
        "is_active": "on",
        "opening_hours-TOTAL_FORMS": str(len(hours)),
        "opening_hours-INITIAL_FORMS": str(existing),
        "opening_hours-MIN_NUM_FORMS": "0",
        "opening_hours-MAX_NUM_FORMS": "1000",
    }
    for index, row in enumerate(hours):
        for name, value in row.items():
            data[f"opening_hours-{index}-{name}"] = value
        data[f"opening_hours-{index}-store"] = str(store.pk)
    return data


def test_owner_sets_hours_across_midnight_and_a_split_day(world, clients):
    store = world.alpha.store
    url = reverse("admin:loyalty_store_change", args=[store.pk])
    hours = [
        {"weekday": "4", "opens": "08:00", "closes": "12:00"},
        {"weekday": "4", "opens": "14:00", "closes": "18:00"},
        {"weekday": "5", "opens": "18:00", "closes": "02:00"},
    ]
    response = clients["owner"].post(url, _form(store, hours))
    assert response.status_code == 302, response.content.decode()[:2000]
    assert list(StoreOpeningHours.objects.filter(store=store).values_list("weekday", "opens", "closes")) == [
        (4, time(8), time(12)),
        (4, time(14), time(18)),
        (5, time(18), time(2)),
    ]
    entry = AdminAuditLog.objects.get(summary__startswith="opening hours of store")
    assert entry.changes["opening_hours"] == ["", "Friday 08:00–12:00; Friday 14:00–18:00; Saturday 18:00–02:00"]


def test_overlapping_ranges_are_refused_and_change_nothing(world, clients):
    store = world.alpha.store
    StoreOpeningHours.objects.create(store=store, weekday=0, opens=time(9), closes=time(17))
    url = reverse("admin:loyalty_store_change", args=[store.pk])
    # Sunday night to 10:00 overlaps Monday's 09:00 opening.
    hours = [
        {"weekday": "0", "opens": "09:00", "closes": "17:00", "id": str(StoreOpeningHours.objects.get().pk)},
        {"weekday": "6", "opens": "20:00", "closes": "10:00"},
    ]
    response = clients["owner"].post(url, _form(store, hours, existing=1), follow=True)
    assert "overlaps" in response.content.decode()
    assert list(StoreOpeningHours.objects.values_list("weekday", "opens")) == [(0, time(9))]


def test_another_merchants_store_hours_are_out_of_reach(world, clients):
    other = world.beta.store
    url = reverse("admin:loyalty_store_change", args=[other.pk])
    response = clients["owner"].post(url, _form(other, [{"weekday": "1", "opens": "08:00", "closes": "09:00"}]))
    assert response.status_code == 404
    assert not StoreOpeningHours.objects.exists()


def test_a_manager_cannot_change_hours(world, clients):
    store = world.alpha.store
    url = reverse("admin:loyalty_store_change", args=[store.pk])
    clients["manager"].post(url, _form(store, [{"weekday": "1", "opens": "08:00", "closes": "09:00"}]))
    assert not StoreOpeningHours.objects.exists()
