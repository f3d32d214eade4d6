"""Schedule the daily check of wallet credentials' expiry in django-celery-beat, so a fresh install has it.

Like ``loyalty/0005_periodic_tasks``: created once by name, and an
administrator's later changes to it in the admin are kept. 08:00 in the
project's TIME_ZONE, so the e-mail arrives at the start of a working day.
"""

from django.conf import settings
from django.db import migrations

NAME = TASK = "wallet.credential_expiry_warnings"
SCHEDULE = {"minute": "0", "hour": "8", "day_of_week": "*", "day_of_month": "*", "month_of_year": "*"}


def create_job(apps, schema_editor):
    CrontabSchedule = apps.get_model("django_celery_beat", "CrontabSchedule")
    PeriodicTask = apps.get_model("django_celery_beat", "PeriodicTask")
    if PeriodicTask.objects.filter(name=NAME).exists():
        return
    schedule, _ = CrontabSchedule.objects.get_or_create(timezone=settings.TIME_ZONE, **SCHEDULE)
    PeriodicTask.objects.create(name=NAME, task=TASK, crontab=schedule)


def remove_job(apps, schema_editor):
    PeriodicTask = apps.get_model("django_celery_beat", "PeriodicTask")
    PeriodicTask.objects.filter(name=NAME).delete()


class Migration(migrations.Migration):
    dependencies = [
        ("wallet", "0002_credential_expiry_warning"),
        ("django_celery_beat", "0019_alter_periodictasks_options"),
    ]

    operations = [migrations.RunPython(create_job, remove_job)]
