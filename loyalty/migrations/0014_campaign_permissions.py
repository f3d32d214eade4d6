"""Owners and managers write campaigns: give their back-office groups (staff 0002) the campaign permissions."""

from django.db import migrations

GROUPS = ("Merchant owners", "Merchant managers")
CODENAMES = ("view_campaign", "add_campaign", "change_campaign")


def grant(apps, schema_editor):
    from django.contrib.auth.management import create_permissions

    # Permissions are normally created after all migrations (post_migrate); the groups need them now.
    app_config = apps.get_app_config("loyalty")
    app_config.models_module = True
    create_permissions(app_config, apps=apps, verbosity=0)
    app_config.models_module = None
    Permission = apps.get_model("auth", "Permission")
    permissions = list(Permission.objects.filter(content_type__app_label="loyalty", codename__in=CODENAMES))
    for group in apps.get_model("auth", "Group").objects.filter(name__in=GROUPS):
        group.permissions.add(*permissions)


def revoke(apps, schema_editor):
    Permission = apps.get_model("auth", "Permission")
    permissions = Permission.objects.filter(content_type__app_label="loyalty", codename__in=CODENAMES)
    for group in apps.get_model("auth", "Group").objects.filter(name__in=GROUPS):
        group.permissions.remove(*permissions)


class Migration(migrations.Migration):
    dependencies = [
        ("loyalty", "0013_start_due_campaigns_task"),
        ("staff", "0002_admin_groups"),
    ]

    operations = [migrations.RunPython(grant, revoke)]
