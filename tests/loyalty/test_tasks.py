"""Celery tasks of the loyalty app (eager: no broker in tests) and the beat schedule."""

from datetime import timedelta

import pytest
from django.utils import timezone
from django_celery_beat.models import PeriodicTask

from loyalty.domain.cards import CardRef
from loyalty.models import LoyaltyCard, LoyaltyTransaction, TransactionType
from loyalty.services.points import points_earn
from loyalty.tasks import expire_points
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
