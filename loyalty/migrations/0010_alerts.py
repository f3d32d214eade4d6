"""Fraud alerts, their per-merchant rule settings, and the owners' right to review them.

Owners see and review alerts; managers do not (the alerts of a staff member
are about the people a manager works with, and a void-rate finding may be
about the manager). The group gets its permissions here, as in
``staff/0002_admin_groups``.
"""

import django.core.validators
import django.db.models.deletion
import django.utils.timezone
from django.conf import settings
from django.db import migrations, models


OWNERS_GROUP = "Merchant owners"
OWNER_ALERT_PERMISSIONS = ("view_alert", "change_alert")


def grant_owners(apps, schema_editor):
    from django.contrib.auth.management import create_permissions

    app_config = apps.get_app_config("loyalty")
    app_config.models_module = True
    create_permissions(app_config, apps=apps, verbosity=0)
    app_config.models_module = None
    Group = apps.get_model("auth", "Group")
    Permission = apps.get_model("auth", "Permission")
    group, _ = Group.objects.get_or_create(name=OWNERS_GROUP)
    group.permissions.add(
        *Permission.objects.filter(content_type__app_label="loyalty", codename__in=OWNER_ALERT_PERMISSIONS)
    )


def revoke_owners(apps, schema_editor):
    Group = apps.get_model("auth", "Group")
    Permission = apps.get_model("auth", "Permission")
    for group in Group.objects.filter(name=OWNERS_GROUP):
        group.permissions.remove(
            *Permission.objects.filter(content_type__app_label="loyalty", codename__in=OWNER_ALERT_PERMISSIONS)
        )


class Migration(migrations.Migration):

    dependencies = [
        ('loyalty', '0009_prune_idempotency_keys_task'),
        ('staff', '0004_pin_failure_window'),
        ('auth', '0012_alter_user_first_name_max_length'),
        migrations.swappable_dependency(settings.AUTH_USER_MODEL),
    ]

    operations = [
        migrations.AddField(
            model_name='merchantsettings',
            name='alert_enrollment_burst_enabled',
            field=models.BooleanField(default=True, verbose_name='alert: enrollment burst'),
        ),
        migrations.AddField(
            model_name='merchantsettings',
            name='alert_enrollment_burst_max_enrollments',
            field=models.PositiveSmallIntegerField(default=10, help_text='An alert when more cards than this are enrolled from one IP address at one store in an hour.', validators=[django.core.validators.MinValueValidator(1)], verbose_name='enrollment burst: enrollments allowed per hour'),
        ),
        migrations.AddField(
            model_name='merchantsettings',
            name='alert_pin_guessing_enabled',
            field=models.BooleanField(default=True, help_text='An alert when a staff PIN or a store is locked out.', verbose_name='alert: PIN guessing'),
        ),
        migrations.AddField(
            model_name='merchantsettings',
            name='alert_busy_card_enabled',
            field=models.BooleanField(default=True, verbose_name='alert: busy card'),
        ),
        migrations.AddField(
            model_name='merchantsettings',
            name='alert_busy_card_max_operations',
            field=models.PositiveSmallIntegerField(default=5, help_text='An alert when one card has more earning operations than this in one store-local day.', validators=[django.core.validators.MinValueValidator(1)], verbose_name='busy card: earning operations allowed per day'),
        ),
        migrations.AddField(
            model_name='merchantsettings',
            name='alert_large_adjustment_enabled',
            field=models.BooleanField(default=True, verbose_name='alert: large adjustment'),
        ),
        migrations.AddField(
            model_name='merchantsettings',
            name='alert_large_adjustment_points',
            field=models.PositiveIntegerField(default=1000, help_text='An alert when one points adjustment adds or removes more points than this.', validators=[django.core.validators.MinValueValidator(1)], verbose_name='large adjustment: points allowed'),
        ),
        migrations.AddField(
            model_name='merchantsettings',
            name='alert_staff_favourite_enabled',
            field=models.BooleanField(default=True, verbose_name='alert: staff favourite'),
        ),
        migrations.AddField(
            model_name='merchantsettings',
            name='alert_staff_favourite_min_operations',
            field=models.PositiveSmallIntegerField(default=10, help_text='Staff members with fewer earning operations in 7 days are not judged.', validators=[django.core.validators.MinValueValidator(1)], verbose_name='staff favourite: minimum operations'),
        ),
        migrations.AddField(
            model_name='merchantsettings',
            name='alert_staff_favourite_percent',
            field=models.PositiveSmallIntegerField(default=30, help_text="An alert when more than this share of a staff member's earning operations in 7 days go to one card.", validators=[django.core.validators.MinValueValidator(1), django.core.validators.MaxValueValidator(100)], verbose_name='staff favourite: percent allowed'),
        ),
        migrations.AddField(
            model_name='merchantsettings',
            name='alert_void_rate_enabled',
            field=models.BooleanField(default=True, verbose_name='alert: void rate'),
        ),
        migrations.AddField(
            model_name='merchantsettings',
            name='alert_void_rate_min_operations',
            field=models.PositiveSmallIntegerField(default=10, help_text='Staff members with fewer operations in 7 days are not judged.', validators=[django.core.validators.MinValueValidator(1)], verbose_name='void rate: minimum operations'),
        ),
        migrations.AddField(
            model_name='merchantsettings',
            name='alert_void_rate_percent',
            field=models.PositiveSmallIntegerField(default=20, help_text="An alert when more than this share of a staff member's operations in 7 days are voids.", validators=[django.core.validators.MinValueValidator(1), django.core.validators.MaxValueValidator(100)], verbose_name='void rate: percent allowed'),
        ),
        migrations.CreateModel(
            name='Alert',
            fields=[
                ('id', models.BigAutoField(auto_created=True, primary_key=True, serialize=False, verbose_name='ID')),
                ('rule', models.CharField(choices=[('busy_card', 'Busy card'), ('staff_favourite', 'Staff favourite'), ('out_of_hours', 'Out of hours'), ('void_rate', 'Void rate'), ('large_adjustment', 'Large adjustment'), ('pin_guessing', 'PIN guessing'), ('enrollment_burst', 'Enrollment burst')], max_length=20, verbose_name='rule')),
                ('severity', models.CharField(choices=[('low', 'low'), ('medium', 'medium'), ('high', 'high')], max_length=10, verbose_name='severity')),
                ('ip_address', models.GenericIPAddressField(blank=True, null=True, verbose_name='IP address')),
                ('subject_key', models.CharField(max_length=100)),
                ('window_start_at', models.DateTimeField(verbose_name='window start')),
                ('window_end_at', models.DateTimeField(verbose_name='window end')),
                ('evidence', models.JSONField(blank=True, default=dict, verbose_name='evidence')),
                ('status', models.CharField(choices=[('open', 'open'), ('dismissed', 'dismissed'), ('confirmed', 'confirmed')], default='open', max_length=10, verbose_name='status')),
                ('status_reason', models.TextField(blank=True, verbose_name='reason')),
                ('status_changed_at', models.DateTimeField(blank=True, null=True, verbose_name='status changed at')),
                ('created_at', models.DateTimeField(default=django.utils.timezone.now, verbose_name='time')),
                ('card', models.ForeignKey(blank=True, null=True, on_delete=django.db.models.deletion.PROTECT, related_name='alerts', to='loyalty.loyaltycard', verbose_name='card')),
                ('merchant', models.ForeignKey(on_delete=django.db.models.deletion.PROTECT, related_name='+', to='loyalty.merchant', verbose_name='merchant')),
                ('staff_pin', models.ForeignKey(blank=True, null=True, on_delete=django.db.models.deletion.PROTECT, related_name='+', to='staff.staffpin', verbose_name='staff PIN')),
                ('status_changed_by', models.ForeignKey(blank=True, null=True, on_delete=django.db.models.deletion.PROTECT, related_name='+', to=settings.AUTH_USER_MODEL, verbose_name='status changed by')),
                ('store', models.ForeignKey(blank=True, null=True, on_delete=django.db.models.deletion.PROTECT, related_name='+', to='loyalty.store', verbose_name='store')),
                ('user', models.ForeignKey(blank=True, null=True, on_delete=django.db.models.deletion.PROTECT, related_name='+', to=settings.AUTH_USER_MODEL, verbose_name='user')),
            ],
            options={
                'verbose_name': 'alert',
                'verbose_name_plural': 'alerts',
                'ordering': ['-created_at', '-id'],
                'default_permissions': ('view', 'change'),
                'indexes': [models.Index(fields=['merchant', 'status', '-created_at'], name='alert_merchant_status_idx'), models.Index(fields=['card', 'status'], name='alert_card_status_idx'), models.Index(fields=['merchant', 'rule', '-window_end_at'], name='alert_merchant_rule_window_idx')],
                'constraints': [models.UniqueConstraint(fields=('merchant', 'rule', 'subject_key', 'window_start_at', 'window_end_at'), name='alert_one_per_finding')],
            },
        ),
        migrations.RunPython(grant_owners, revoke_owners),
    ]
