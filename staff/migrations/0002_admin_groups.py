"""The back office's two permission groups, and the existing members put in them.

What each role may do in the admin is decided here, once, not by hand in
the admin; ``staff.services.memberships.membership_groups_sync`` puts each
user in the group of their role. Staff (till) accounts get no group.
"""

from django.db import migrations

OWNERS_GROUP = "Merchant owners"
MANAGERS_GROUP = "Merchant managers"

GROUP_PERMISSIONS = {
    OWNERS_GROUP: {
        "loyalty": {
            "program": ("view", "add", "change"),
            "reward": ("view", "add", "change"),
            "store": ("view", "add", "change"),
            "customer": ("view", "change"),
            "loyaltycard": ("view", "change"),
            "loyaltytransaction": ("view",),
            "merchantsettings": ("view", "change"),
            "adminauditlog": ("view",),
        },
        "staff": {
            "membership": ("view", "add", "change"),
            "staffpin": ("view", "add", "change"),
        },
    },
    MANAGERS_GROUP: {
        "loyalty": {
            "loyaltycard": ("view", "change"),
            "loyaltytransaction": ("view",),
        },
        "staff": {
            "staffpin": ("view", "add", "change"),
        },
    },
}
ROLE_GROUPS = {"owner": OWNERS_GROUP, "manager": MANAGERS_GROUP}


def create_groups(apps, schema_editor):
    from django.contrib.auth.management import create_permissions

    # Permissions are normally created after all migrations (post_migrate);
    # create them now so a fresh database gets complete groups.
    for app_config in apps.get_app_configs():
        app_config.models_module = True
        create_permissions(app_config, apps=apps, verbosity=0)
        app_config.models_module = None

    Group = apps.get_model("auth", "Group")
    Permission = apps.get_model("auth", "Permission")
    Membership = apps.get_model("staff", "Membership")
    for group_name, by_app in GROUP_PERMISSIONS.items():
        group, _ = Group.objects.get_or_create(name=group_name)
        codenames = [
            (app_label, f"{action}_{model}")
            for app_label, models in by_app.items()
            for model, actions in models.items()
            for action in actions
        ]
        permissions = [
            Permission.objects.get(content_type__app_label=app_label, codename=codename)
            for app_label, codename in codenames
        ]
        group.permissions.set(permissions)
    for membership in Membership.objects.select_related("user"):
        group_name = ROLE_GROUPS.get(membership.role) if membership.is_active else None
        if group_name:
            membership.user.groups.add(Group.objects.get(name=group_name))


def remove_groups(apps, schema_editor):
    apps.get_model("auth", "Group").objects.filter(name__in=list(GROUP_PERMISSIONS)).delete()


class Migration(migrations.Migration):
    dependencies = [
        ("auth", "0012_alter_user_first_name_max_length"),
        ("contenttypes", "0002_remove_content_type_name"),
        ("loyalty", "0004_admin_audit_log"),
        ("staff", "0001_initial"),
    ]

    operations = [migrations.RunPython(create_groups, remove_groups)]
