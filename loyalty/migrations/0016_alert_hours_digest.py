"""Rule 3 (out of hours) with store opening hours, repeated store lockouts, the daily alert e-mail.

Also: managers see and review the alerts of their stores (the back office
narrows them, ``loyalty.selectors.alerts.alerts_visible_to_manager``), so
their group gets the alert permissions; and the hourly job that sends the
daily digests is scheduled in django-celery-beat (a job that already exists
is left as the administrator set it).
"""

import django.core.validators
import django.db.models.deletion
import django.utils.timezone
from django.conf import settings
from django.db import migrations, models

MANAGERS_GROUP = "Merchant managers"
ALERT_PERMISSIONS = ("view_alert", "change_alert")
DIGEST_JOB = "loyalty.send_alert_digests"


def grant_managers(apps, schema_editor):
    from django.contrib.auth.management import create_permissions

    # Permissions are normally created after all migrations (post_migrate); the group needs them now.
    app_config = apps.get_app_config("loyalty")
    app_config.models_module = True
    create_permissions(app_config, apps=apps, verbosity=0)
    app_config.models_module = None
    Permission = apps.get_model("auth", "Permission")
    permissions = Permission.objects.filter(content_type__app_label="loyalty", codename__in=ALERT_PERMISSIONS)
    for group in apps.get_model("auth", "Group").objects.filter(name=MANAGERS_GROUP):
        group.permissions.add(*permissions)


def revoke_managers(apps, schema_editor):
    Permission = apps.get_model("auth", "Permission")
    permissions = Permission.objects.filter(content_type__app_label="loyalty", codename__in=ALERT_PERMISSIONS)
    for group in apps.get_model("auth", "Group").objects.filter(name=MANAGERS_GROUP):
        group.permissions.remove(*permissions)


def create_digest_job(apps, schema_editor):
    IntervalSchedule = apps.get_model("django_celery_beat", "IntervalSchedule")
    PeriodicTask = apps.get_model("django_celery_beat", "PeriodicTask")
    if PeriodicTask.objects.filter(name=DIGEST_JOB).exists():
        return
    schedule, _ = IntervalSchedule.objects.get_or_create(every=1, period="hours")
    PeriodicTask.objects.create(name=DIGEST_JOB, task=DIGEST_JOB, interval=schedule)


def remove_digest_job(apps, schema_editor):
    apps.get_model("django_celery_beat", "PeriodicTask").objects.filter(name=DIGEST_JOB).delete()


class Migration(migrations.Migration):

    dependencies = [
        ('loyalty', '0015_ledger_indexes'),
        ("staff", "0002_admin_groups"),
        ("django_celery_beat", "0019_alter_periodictasks_options"),
        migrations.swappable_dependency(settings.AUTH_USER_MODEL),
    ]

    operations = [
        migrations.AddField(
            model_name='merchantsettings',
            name='alert_digest_enabled',
            field=models.BooleanField(default=True, help_text="At 07:00 every morning, owners and managers get yesterday's new alerts (nothing when none).", verbose_name='daily alert e-mail'),
        ),
        migrations.AddField(
            model_name='merchantsettings',
            name='alert_out_of_hours_enabled',
            field=models.BooleanField(default=True, help_text='Only for stores with opening hours; a store without any is never judged.', verbose_name='alert: out of hours'),
        ),
        migrations.AddField(
            model_name='merchantsettings',
            name='alert_out_of_hours_max_operations',
            field=models.PositiveSmallIntegerField(default=0, help_text="An alert when a staff member makes more earning operations than this outside a store's opening hours in one store-local day.", verbose_name='out of hours: earning operations allowed per day'),
        ),
        migrations.AddField(
            model_name='merchantsettings',
            name='alert_store_lockouts_per_day',
            field=models.PositiveSmallIntegerField(default=3, help_text='A further alert when one store has been locked out this many times in one store-local day.', validators=[django.core.validators.MinValueValidator(2)], verbose_name='PIN guessing: store lockouts in one day'),
        ),
        migrations.CreateModel(
            name='AlertDigestSent',
            fields=[
                ('id', models.BigAutoField(auto_created=True, primary_key=True, serialize=False, verbose_name='ID')),
                ('day', models.DateField(help_text='The merchant-local day whose alerts the e-mail lists.')),
                ('alerts', models.PositiveIntegerField(default=0)),
                ('sent_at', models.DateTimeField(default=django.utils.timezone.now)),
                ('merchant', models.ForeignKey(on_delete=django.db.models.deletion.CASCADE, related_name='+', to='loyalty.merchant')),
                ('user', models.ForeignKey(on_delete=django.db.models.deletion.CASCADE, related_name='+', to=settings.AUTH_USER_MODEL)),
            ],
            options={
                'default_permissions': (),
                'constraints': [models.UniqueConstraint(fields=('user', 'day'), name='alert_digest_one_per_user_day')],
            },
        ),
        migrations.CreateModel(
            name='StoreOpeningHours',
            fields=[
                ('id', models.BigAutoField(auto_created=True, primary_key=True, serialize=False, verbose_name='ID')),
                ('weekday', models.PositiveSmallIntegerField(choices=[(0, 'Monday'), (1, 'Tuesday'), (2, 'Wednesday'), (3, 'Thursday'), (4, 'Friday'), (5, 'Saturday'), (6, 'Sunday')], verbose_name='day')),
                ('opens', models.TimeField(verbose_name='opens')),
                ('closes', models.TimeField(help_text='At or before the opening time: the next day.', verbose_name='closes')),
                ('store', models.ForeignKey(on_delete=django.db.models.deletion.CASCADE, related_name='opening_hours', to='loyalty.store', verbose_name='store')),
            ],
            options={
                'verbose_name': 'opening hours',
                'verbose_name_plural': 'opening hours',
                'ordering': ['store', 'weekday', 'opens'],
                'constraints': [models.UniqueConstraint(fields=('store', 'weekday', 'opens'), name='store_hours_one_range_per_start')],
            },
        ),
        migrations.RunPython(grant_managers, revoke_managers),
        migrations.RunPython(create_digest_job, remove_digest_job),
    ]
