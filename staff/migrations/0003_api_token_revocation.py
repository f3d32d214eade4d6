"""API tokens remember a keyed fingerprint of their user's password hash; owners see their merchant's tokens.

Tokens issued before this migration get an empty fingerprint, which matches
no password: they stop, and each till signs in once more. Giving them the
current password's fingerprint instead would keep alive exactly the tokens
this change is about — those issued before a password change.

The "Merchant owners" group gets to view API tokens (the back office's list)
and to change them (its "Revoke" action); managers do not.
"""

import django.db.models.deletion
from django.conf import settings
from django.db import migrations, models

OWNERS_GROUP = "Merchant owners"
OWNER_TOKEN_PERMISSIONS = ("view_apitoken", "change_apitoken")


def _owner_token_permissions(apps):
    from django.contrib.auth.management import create_permissions

    # Permissions are normally created after all migrations (post_migrate); make sure these exist now.
    app_config = apps.get_app_config("staff")
    app_config.models_module = True
    create_permissions(app_config, apps=apps, verbosity=0)
    app_config.models_module = None
    Permission = apps.get_model("auth", "Permission")
    return Permission.objects.filter(content_type__app_label="staff", codename__in=OWNER_TOKEN_PERMISSIONS)


def grant_owners(apps, schema_editor):
    group, _ = apps.get_model("auth", "Group").objects.get_or_create(name=OWNERS_GROUP)
    group.permissions.add(*_owner_token_permissions(apps))


def withdraw_from_owners(apps, schema_editor):
    group = apps.get_model("auth", "Group").objects.filter(name=OWNERS_GROUP).first()
    if group is not None:
        group.permissions.remove(*_owner_token_permissions(apps))


class Migration(migrations.Migration):
    dependencies = [
        migrations.swappable_dependency(settings.AUTH_USER_MODEL),
        ("staff", "0002_admin_groups"),
    ]

    operations = [
        migrations.AddField(
            model_name="apitoken",
            name="password_fingerprint",
            field=models.CharField(default="", editable=False, max_length=64),
        ),
        migrations.AlterField(
            model_name="apitoken",
            name="created_at",
            field=models.DateTimeField(auto_now_add=True, verbose_name="created"),
        ),
        migrations.AlterField(
            model_name="apitoken",
            name="store",
            field=models.ForeignKey(
                blank=True,
                null=True,
                on_delete=django.db.models.deletion.CASCADE,
                related_name="+",
                to="loyalty.store",
                verbose_name="store",
            ),
        ),
        migrations.AlterField(
            model_name="apitoken",
            name="user",
            field=models.ForeignKey(
                on_delete=django.db.models.deletion.CASCADE,
                related_name="api_tokens",
                to=settings.AUTH_USER_MODEL,
                verbose_name="user",
            ),
        ),
        migrations.AlterField(
            model_name="apitoken",
            name="user_agent",
            field=models.CharField(blank=True, max_length=256, verbose_name="device (User-Agent)"),
        ),
        migrations.RunPython(grant_owners, withdraw_from_owners),
    ]
