"""Automatic messages and the birthday: the settings, the delivery claims, the BONUS ledger type, and the job.

The job ``loyalty.send_automatic_messages`` runs every 15 minutes from
django-celery-beat, created here as 0005 does for the first jobs (an existing
job is left as the administrator set it).
"""

import django.core.validators
import django.db.models.deletion
from django.db import migrations, models


JOB_NAME = "loyalty.send_automatic_messages"


def create_job(apps, schema_editor):
    IntervalSchedule = apps.get_model("django_celery_beat", "IntervalSchedule")
    PeriodicTask = apps.get_model("django_celery_beat", "PeriodicTask")
    if PeriodicTask.objects.filter(name=JOB_NAME).exists():
        return
    schedule, _ = IntervalSchedule.objects.get_or_create(every=15, period="minutes")
    PeriodicTask.objects.create(name=JOB_NAME, task=JOB_NAME, interval=schedule)


def remove_job(apps, schema_editor):
    apps.get_model("django_celery_beat", "PeriodicTask").objects.filter(name=JOB_NAME).delete()


class Migration(migrations.Migration):
    dependencies = [
        ("loyalty", "0017_campaign_delivery_claims"),
        ("django_celery_beat", "0019_alter_periodictasks_options"),
    ]

    operations = [
        migrations.CreateModel(
            name="AutomaticMessageDelivery",
            fields=[
                ("id", models.BigAutoField(auto_created=True, primary_key=True, serialize=False, verbose_name="ID")),
                (
                    "kind",
                    models.CharField(
                        choices=[
                            ("welcome", "Welcome"),
                            ("reward_ready", "Reward ready"),
                            ("points_expiring", "Points expiring"),
                            ("we_miss_you", "We miss you"),
                            ("birthday", "Birthday"),
                        ],
                        max_length=20,
                        verbose_name="message",
                    ),
                ),
                ("period_key", models.CharField(max_length=40, verbose_name="period")),
                (
                    "status",
                    models.CharField(
                        choices=[("pending", "Pending"), ("sent", "Sent")],
                        default="pending",
                        max_length=10,
                        verbose_name="status",
                    ),
                ),
                ("email_result", models.CharField(blank=True, max_length=100, verbose_name="e-mail")),
                ("created_at", models.DateTimeField(verbose_name="created at")),
                ("sent_at", models.DateTimeField(blank=True, null=True, verbose_name="sent at")),
            ],
            options={
                "verbose_name": "automatic message",
                "verbose_name_plural": "automatic messages",
                "ordering": ["id"],
            },
        ),
        migrations.AddField(
            model_name="customer",
            name="birthday_day",
            field=models.PositiveSmallIntegerField(
                blank=True,
                null=True,
                validators=[django.core.validators.MinValueValidator(1), django.core.validators.MaxValueValidator(31)],
                verbose_name="birthday (day)",
            ),
        ),
        migrations.AddField(
            model_name="customer",
            name="birthday_month",
            field=models.PositiveSmallIntegerField(
                blank=True,
                null=True,
                validators=[django.core.validators.MinValueValidator(1), django.core.validators.MaxValueValidator(12)],
                verbose_name="birthday (month)",
            ),
        ),
        migrations.AddField(
            model_name="merchantsettings",
            name="birthday_bonus_points",
            field=models.PositiveIntegerField(
                default=0,
                help_text="0: no points. Only for programs with points.",
                validators=[django.core.validators.MaxValueValidator(100000)],
                verbose_name="birthday bonus: points",
            ),
        ),
        migrations.AddField(
            model_name="merchantsettings",
            name="birthday_bonus_stamps",
            field=models.PositiveSmallIntegerField(
                default=0,
                help_text="0: no stamps. Only for programs with stamps.",
                validators=[django.core.validators.MaxValueValidator(100)],
                verbose_name="birthday bonus: stamps",
            ),
        ),
        migrations.AddField(
            model_name="merchantsettings",
            name="birthday_message_enabled",
            field=models.BooleanField(
                default=False,
                help_text="In the morning of a customer's birthday, when they gave it.",
                verbose_name="birthday message",
            ),
        ),
        migrations.AddField(
            model_name="merchantsettings",
            name="birthday_text_de",
            field=models.CharField(
                blank=True,
                help_text="Empty: the default text, in the customer's language.",
                max_length=140,
                verbose_name="birthday text in German",
            ),
        ),
        migrations.AddField(
            model_name="merchantsettings",
            name="birthday_text_en",
            field=models.CharField(
                blank=True,
                help_text="Empty: the default text, in the customer's language.",
                max_length=140,
                verbose_name="birthday text in English",
            ),
        ),
        migrations.AddField(
            model_name="merchantsettings",
            name="birthday_text_fr",
            field=models.CharField(
                blank=True,
                help_text="Empty: the default text, in the customer's language.",
                max_length=140,
                verbose_name="birthday text in French",
            ),
        ),
        migrations.AddField(
            model_name="merchantsettings",
            name="birthday_text_lb",
            field=models.CharField(
                blank=True,
                help_text="Empty: the default text, in the customer's language.",
                max_length=140,
                verbose_name="birthday text in Luxembourgish",
            ),
        ),
        migrations.AddField(
            model_name="merchantsettings",
            name="points_expiring_days",
            field=models.PositiveSmallIntegerField(
                default=14,
                validators=[django.core.validators.MinValueValidator(1), django.core.validators.MaxValueValidator(365)],
                verbose_name="points expiring: days before",
            ),
        ),
        migrations.AddField(
            model_name="merchantsettings",
            name="points_expiring_message_enabled",
            field=models.BooleanField(
                default=False,
                help_text="Before a card's points expire under the program's rule of days without activity.",
                verbose_name="points expiring message",
            ),
        ),
        migrations.AddField(
            model_name="merchantsettings",
            name="points_expiring_text_de",
            field=models.CharField(
                blank=True,
                help_text="Empty: the default text, in the customer's language.",
                max_length=140,
                verbose_name="points expiring text in German",
            ),
        ),
        migrations.AddField(
            model_name="merchantsettings",
            name="points_expiring_text_en",
            field=models.CharField(
                blank=True,
                help_text="Empty: the default text, in the customer's language.",
                max_length=140,
                verbose_name="points expiring text in English",
            ),
        ),
        migrations.AddField(
            model_name="merchantsettings",
            name="points_expiring_text_fr",
            field=models.CharField(
                blank=True,
                help_text="Empty: the default text, in the customer's language.",
                max_length=140,
                verbose_name="points expiring text in French",
            ),
        ),
        migrations.AddField(
            model_name="merchantsettings",
            name="points_expiring_text_lb",
            field=models.CharField(
                blank=True,
                help_text="Empty: the default text, in the customer's language.",
                max_length=140,
                verbose_name="points expiring text in Luxembourgish",
            ),
        ),
        migrations.AddField(
            model_name="merchantsettings",
            name="reward_ready_message_enabled",
            field=models.BooleanField(
                default=False,
                help_text="When a card reaches its stamp target, or its points first cover the cheapest reward.",
                verbose_name="reward ready message",
            ),
        ),
        migrations.AddField(
            model_name="merchantsettings",
            name="reward_ready_text_de",
            field=models.CharField(
                blank=True,
                help_text="Empty: the default text, in the customer's language.",
                max_length=140,
                verbose_name="reward ready text in German",
            ),
        ),
        migrations.AddField(
            model_name="merchantsettings",
            name="reward_ready_text_en",
            field=models.CharField(
                blank=True,
                help_text="Empty: the default text, in the customer's language.",
                max_length=140,
                verbose_name="reward ready text in English",
            ),
        ),
        migrations.AddField(
            model_name="merchantsettings",
            name="reward_ready_text_fr",
            field=models.CharField(
                blank=True,
                help_text="Empty: the default text, in the customer's language.",
                max_length=140,
                verbose_name="reward ready text in French",
            ),
        ),
        migrations.AddField(
            model_name="merchantsettings",
            name="reward_ready_text_lb",
            field=models.CharField(
                blank=True,
                help_text="Empty: the default text, in the customer's language.",
                max_length=140,
                verbose_name="reward ready text in Luxembourgish",
            ),
        ),
        migrations.AddField(
            model_name="merchantsettings",
            name="we_miss_you_days",
            field=models.PositiveSmallIntegerField(
                default=60,
                validators=[
                    django.core.validators.MinValueValidator(1),
                    django.core.validators.MaxValueValidator(3650),
                ],
                verbose_name="we miss you: days without activity",
            ),
        ),
        migrations.AddField(
            model_name="merchantsettings",
            name="we_miss_you_message_enabled",
            field=models.BooleanField(
                default=False,
                help_text="When a card has not been used for a while.",
                verbose_name="we miss you message",
            ),
        ),
        migrations.AddField(
            model_name="merchantsettings",
            name="we_miss_you_text_de",
            field=models.CharField(
                blank=True,
                help_text="Empty: the default text, in the customer's language.",
                max_length=140,
                verbose_name="we miss you text in German",
            ),
        ),
        migrations.AddField(
            model_name="merchantsettings",
            name="we_miss_you_text_en",
            field=models.CharField(
                blank=True,
                help_text="Empty: the default text, in the customer's language.",
                max_length=140,
                verbose_name="we miss you text in English",
            ),
        ),
        migrations.AddField(
            model_name="merchantsettings",
            name="we_miss_you_text_fr",
            field=models.CharField(
                blank=True,
                help_text="Empty: the default text, in the customer's language.",
                max_length=140,
                verbose_name="we miss you text in French",
            ),
        ),
        migrations.AddField(
            model_name="merchantsettings",
            name="we_miss_you_text_lb",
            field=models.CharField(
                blank=True,
                help_text="Empty: the default text, in the customer's language.",
                max_length=140,
                verbose_name="we miss you text in Luxembourgish",
            ),
        ),
        migrations.AddField(
            model_name="merchantsettings",
            name="welcome_message_enabled",
            field=models.BooleanField(
                default=False,
                help_text="Every new card's customer gets the e-mail with the card's link at once, with this welcome text.",
                verbose_name="welcome message",
            ),
        ),
        migrations.AddField(
            model_name="merchantsettings",
            name="welcome_text_de",
            field=models.CharField(
                blank=True,
                help_text="Empty: the default text, in the customer's language.",
                max_length=140,
                verbose_name="welcome text in German",
            ),
        ),
        migrations.AddField(
            model_name="merchantsettings",
            name="welcome_text_en",
            field=models.CharField(
                blank=True,
                help_text="Empty: the default text, in the customer's language.",
                max_length=140,
                verbose_name="welcome text in English",
            ),
        ),
        migrations.AddField(
            model_name="merchantsettings",
            name="welcome_text_fr",
            field=models.CharField(
                blank=True,
                help_text="Empty: the default text, in the customer's language.",
                max_length=140,
                verbose_name="welcome text in French",
            ),
        ),
        migrations.AddField(
            model_name="merchantsettings",
            name="welcome_text_lb",
            field=models.CharField(
                blank=True,
                help_text="Empty: the default text, in the customer's language.",
                max_length=140,
                verbose_name="welcome text in Luxembourgish",
            ),
        ),
        migrations.AlterField(
            model_name="loyaltytransaction",
            name="type",
            field=models.CharField(
                choices=[
                    ("STAMP_EARNED", "Stamp earned"),
                    ("STAMP_REDEEMED", "Stamp reward redeemed"),
                    ("STAMP_VOIDED", "Stamps voided"),
                    ("POINTS_EARNED", "Points earned"),
                    ("POINTS_REDEEMED", "Points redeemed"),
                    ("POINTS_VOIDED", "Points voided"),
                    ("POINTS_ADJUSTED", "Points adjusted"),
                    ("POINTS_EXPIRED", "Points expired"),
                    ("CARD_ENROLLED", "Card enrolled"),
                    ("CARD_DEACTIVATED", "Card deactivated"),
                    ("CARD_REACTIVATED", "Card reactivated"),
                    ("BALANCE_IMPORTED", "Balance imported"),
                    ("BONUS", "Bonus"),
                ],
                max_length=20,
                verbose_name="type",
            ),
        ),
        migrations.AddConstraint(
            model_name="customer",
            constraint=models.CheckConstraint(
                condition=models.Q(
                    models.Q(("birthday_day__isnull", True), ("birthday_month__isnull", True)),
                    models.Q(
                        ("birthday_day__gte", 1),
                        ("birthday_day__lte", 31),
                        ("birthday_month__gte", 1),
                        ("birthday_month__lte", 12),
                    ),
                    _connector="OR",
                ),
                name="customer_birthday_day_and_month",
            ),
        ),
        migrations.AddField(
            model_name="automaticmessagedelivery",
            name="card",
            field=models.ForeignKey(
                on_delete=django.db.models.deletion.PROTECT,
                related_name="+",
                to="loyalty.loyaltycard",
                verbose_name="card",
            ),
        ),
        migrations.AddField(
            model_name="automaticmessagedelivery",
            name="merchant",
            field=models.ForeignKey(
                on_delete=django.db.models.deletion.PROTECT,
                related_name="+",
                to="loyalty.merchant",
                verbose_name="merchant",
            ),
        ),
        migrations.AddIndex(
            model_name="automaticmessagedelivery",
            index=models.Index(
                condition=models.Q(("status", "pending")), fields=["created_at"], name="automatic_message_pending_idx"
            ),
        ),
        migrations.AddIndex(
            model_name="automaticmessagedelivery",
            index=models.Index(fields=["card", "-sent_at"], name="automatic_message_card_idx"),
        ),
        migrations.AddConstraint(
            model_name="automaticmessagedelivery",
            constraint=models.UniqueConstraint(
                fields=("card", "kind", "period_key"), name="automatic_message_once_per_period"
            ),
        ),
        migrations.AddConstraint(
            model_name="automaticmessagedelivery",
            constraint=models.CheckConstraint(
                condition=models.Q(
                    ("kind__in", ["welcome", "reward_ready", "points_expiring", "we_miss_you", "birthday"])
                ),
                name="automatic_message_kind_valid",
            ),
        ),
        migrations.RunPython(create_job, remove_job),
    ]
