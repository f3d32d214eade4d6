"""Create the periodic jobs in django-celery-beat, so a fresh install has them.

Idempotent (update_or_create by name): re-running migrations never duplicates
a job, and an administrator's later changes to enabled/schedule in the admin
are kept when the task already exists. Schedules are explicit about their
zone: the daily expiry runs at 02:00 in the project's TIME_ZONE.
"""

from django.conf import settings
from django.db import migrations

JOBS = [
    # (name, task, schedule kind, schedule fields)
    ("loyalty.sync_wallet_passes", "loyalty.sync_wallet_passes", "interval", {"every": 1, "period": "hours"}),
    (
        "loyalty.expire_points",
        "loyalty.expire_points",
        "crontab",
        {"minute": "0", "hour": "2", "day_of_week": "*", "day_of_month": "*", "month_of_year": "*"},
    ),
    (
        "wallet.prune_device_registrations",
        "wallet.prune_device_registrations",
        "crontab",
        {"minute": "30", "hour": "3", "day_of_week": "0", "day_of_month": "*", "month_of_year": "*"},
    ),
]


def create_jobs(apps, schema_editor):
    IntervalSchedule = apps.get_model("django_celery_beat", "IntervalSchedule")
    CrontabSchedule = apps.get_model("django_celery_beat", "CrontabSchedule")
    PeriodicTask = apps.get_model("django_celery_beat", "PeriodicTask")
    for name, task, kind, fields in JOBS:
        if PeriodicTask.objects.filter(name=name).exists():
            continue
        if kind == "interval":
            schedule, _ = IntervalSchedule.objects.get_or_create(**fields)
            PeriodicTask.objects.create(name=name, task=task, interval=schedule)
        else:
            schedule, _ = CrontabSchedule.objects.get_or_create(timezone=settings.TIME_ZONE, **fields)
            PeriodicTask.objects.create(name=name, task=task, crontab=schedule)


def remove_jobs(apps, schema_editor):
    PeriodicTask = apps.get_model("django_celery_beat", "PeriodicTask")
    PeriodicTask.objects.filter(name__in=[name for name, *_ in JOBS]).delete()


class Migration(migrations.Migration):
    dependencies = [
        ("loyalty", "0004_admin_audit_log"),
        ("django_celery_beat", "0019_alter_periodictasks_options"),
    ]

    operations = [migrations.RunPython(create_jobs, remove_jobs)]
