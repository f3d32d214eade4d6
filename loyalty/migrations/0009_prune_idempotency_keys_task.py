"""Schedule the hourly pruning of Idempotency-Keys in django-celery-beat, as 0005 does for the first jobs.

Idempotent (a job that already exists is left as the administrator set it).
Hourly, so a key lives between ``IDEMPOTENCY_KEY_TTL_HOURS`` and one hour more.
"""

from django.db import migrations

NAME = "loyalty.prune_idempotency_keys"


def create_job(apps, schema_editor):
    IntervalSchedule = apps.get_model("django_celery_beat", "IntervalSchedule")
    PeriodicTask = apps.get_model("django_celery_beat", "PeriodicTask")
    if PeriodicTask.objects.filter(name=NAME).exists():
        return
    schedule, _ = IntervalSchedule.objects.get_or_create(every=1, period="hours")
    PeriodicTask.objects.create(name=NAME, task=NAME, interval=schedule)


def remove_job(apps, schema_editor):
    apps.get_model("django_celery_beat", "PeriodicTask").objects.filter(name=NAME).delete()


class Migration(migrations.Migration):
    dependencies = [
        ("loyalty", "0008_idempotency_record"),
        ("django_celery_beat", "0019_alter_periodictasks_options"),
    ]

    operations = [migrations.RunPython(create_job, remove_job)]
