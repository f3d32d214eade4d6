"""Celery tasks of the loyalty app (eager: no broker in tests) and the beat schedule."""

from datetime import timedelta

import pytest
from django.utils import timezone
from django_celery_beat.models import PeriodicTask

from loyalty.domain.cards import CardRef
from loyalty.models import Alert, LoyaltyCard, LoyaltyTransaction, Merchant, TransactionType
from loyalty.services.points import points_earn
from loyalty.tasks import detect_alerts, expire_points
from tests import factories

pytestmark = pytest.mark.django_db


def test_the_periodic_tasks_exist_once_after_migrate():
    tasks = {task.name: task for task in PeriodicTask.objects.all()}

    assert tasks["loyalty.sync_wallet_passes"].interval.every == 1
    assert tasks["loyalty.sync_wallet_passes"].interval.period == "hours"
    expiry = tasks["loyalty.expire_points"].crontab
    assert (expiry.minute, expiry.hour, str(expiry.timezone)) == ("0", "2", "Europe/Luxembourg")
    prune = tasks["wallet.prune_device_registrations"].crontab
    assert (prune.day_of_week, prune.hour) == ("0", "3")
    campaigns = tasks["loyalty.start_due_campaigns"].interval
    assert (campaigns.every, campaigns.period) == (1, "minutes")
    assert PeriodicTask.objects.filter(name__in=list(tasks)).count() == len(tasks)


def test_running_the_schedule_migration_again_duplicates_nothing():
    from importlib import import_module

    from django.apps import apps

    migration = import_module("loyalty.migrations.0005_periodic_tasks")
    before = PeriodicTask.objects.count()
    migration.create_jobs(apps, None)
    assert PeriodicTask.objects.count() == before


def test_every_scheduled_task_is_registered_with_celery():
    from loyalty_site.celery import app

    app.loader.import_default_modules()
    for task in PeriodicTask.objects.exclude(name__startswith="celery."):
        assert task.task in app.tasks, task.task


def test_expire_points_task_reports_and_is_idempotent(store, program, settings):
    program.points_expiration_days = 30
    program.save()
    card = factories.make_card(store)
    long_ago = timezone.now() - timedelta(days=40)
    points_earn(actor=factories.till_actor(store), card_ref=CardRef(card_id=card.pk), purchase_amount_cents=1000, now=long_ago)

    first = expire_points.delay().get()
    second = expire_points.delay().get()

    assert first == {"cards": 1, "points": 100}
    assert second == {"cards": 0, "points": 0}
    assert LoyaltyCard.objects.get(pk=card.pk).points_balance == 0
    assert LoyaltyTransaction.objects.filter(card=card, type=TransactionType.POINTS_EXPIRED).count() == 1


def test_the_alert_detector_runs_every_15_minutes():
    detector = PeriodicTask.objects.get(name="loyalty.detect_alerts")
    assert (detector.task, detector.interval.every, detector.interval.period) == (
        "loyalty.detect_alerts",
        15,
        "minutes",
    )


def _busy_card(store):
    card = factories.make_card(store)
    for _ in range(6):
        LoyaltyTransaction.objects.create(
            card=card,
            merchant=store.merchant,
            store=store,
            type=TransactionType.STAMP_EARNED,
            stamps_delta=1,
            stamp_balance_after=0,
            points_balance_after=0,
        )
    return card


def test_detect_alerts_task_covers_active_merchants_and_is_idempotent(store, program):
    card = _busy_card(store)
    closed_store = factories.make_store(factories.make_merchant("Closed", slug="closed-shop"), code="closed-shop")
    factories.make_program(closed_store.merchant)
    _busy_card(closed_store)
    Merchant.objects.filter(pk=closed_store.merchant_id).update(is_active=False)

    first = detect_alerts.delay().get()
    second = detect_alerts.delay().get()

    assert first["alerts"] == 1 and second["alerts"] == 0
    assert list(Alert.objects.values_list("card_id", flat=True)) == [card.pk]
