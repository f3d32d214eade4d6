"""The store's PIN lockout becomes a sliding window of failure rows.

A success no longer resets the count (a staff member who knows one PIN
could otherwise guess a colleague's between two of their own), so the
fixed window of ``StorePinGuard`` (a count since ``window_started_at``)
becomes one ``StorePinFailure`` row per wrong PIN. Named 0004 so that it
does not collide with the parallel API-token migration.
"""

import django.db.models.deletion
from django.db import migrations, models


def carry_open_windows_over(apps, schema_editor):
    """A store half-way through a window keeps its count: one row per failure, at the window's start."""
    StorePinGuard = apps.get_model("staff", "StorePinGuard")
    StorePinFailure = apps.get_model("staff", "StorePinFailure")
    for guard in StorePinGuard.objects.filter(failed_attempts__gt=0, window_started_at__isnull=False).iterator():
        StorePinFailure.objects.bulk_create(
            StorePinFailure(store_id=guard.store_id, failed_at=guard.window_started_at)
            for _ in range(guard.failed_attempts)
        )


class Migration(migrations.Migration):

    dependencies = [
        ("loyalty", "0005_periodic_tasks"),
        ("staff", "0003_api_token_revocation"),
    ]

    operations = [
        migrations.CreateModel(
            name="StorePinFailure",
            fields=[
                ("id", models.BigAutoField(auto_created=True, primary_key=True, serialize=False, verbose_name="ID")),
                ("failed_at", models.DateTimeField()),
                (
                    "staff_pin",
                    models.ForeignKey(
                        blank=True,
                        null=True,
                        on_delete=django.db.models.deletion.SET_NULL,
                        related_name="+",
                        to="staff.staffpin",
                    ),
                ),
                (
                    "store",
                    models.ForeignKey(
                        on_delete=django.db.models.deletion.CASCADE, related_name="+", to="loyalty.store"
                    ),
                ),
            ],
            options={
                "indexes": [models.Index(fields=["store", "failed_at"], name="storepinfailure_store_at_idx")],
            },
        ),
        migrations.RunPython(carry_open_windows_over, migrations.RunPython.noop),
        migrations.RemoveField(
            model_name="storepinguard",
            name="window_started_at",
        ),
    ]
