"""The admin audit log: one call records who did what to which object."""

from django.contrib.auth import get_user_model
from django.db import models

from loyalty.models import AdminAuditLog

SECRET_FIELDS = {"pin", "pin_hash", "lookup_digest", "password", "key_digest", "authentication_token"}


def _plain(value):
    if isinstance(value, models.Model):
        return str(value.pk)
    if value is None or isinstance(value, bool | int | float | str):
        return value
    return str(value)


def changes_between(old: dict, new: dict) -> dict:
    """``{field: [old, new]}`` for the fields that differ; secret fields show as "changed"."""
    diff = {}
    for name in sorted(set(old) | set(new)):
        before, after = old.get(name), new.get(name)
        if before == after:
            continue
        diff[name] = ["***", "***"] if name in SECRET_FIELDS else [_plain(before), _plain(after)]
    return diff


def audit_record(
    *,
    actor,
    action: str,
    obj=None,
    object_type: str = "",
    object_id: str = "",
    merchant=None,
    summary: str = "",
    changes: dict | None = None,
    ip_address: str | None = None,
) -> AdminAuditLog:
    if obj is not None:
        object_type = object_type or obj._meta.label
        object_id = object_id or str(obj.pk)
    return AdminAuditLog.objects.create(
        actor=actor if getattr(actor, "pk", None) else None,
        merchant=merchant,
        action=action,
        object_type=object_type,
        object_id=object_id,
        summary=summary[:255],
        changes=changes or {},
        ip_address=ip_address,
    )


def audit_login_record(*, username: str, outcome: str, ip_address: str | None) -> AdminAuditLog:
    """Record a failed or refused back-office login, under the account's merchant when the username names one.

    No password is passed here. The username is kept only when it names an
    account: what was typed into that field may be a password typed into the
    wrong box.
    """
    user_model = get_user_model()
    user = (
        user_model._default_manager.filter(**{user_model.USERNAME_FIELD: username})
        .select_related("membership__merchant")
        .first()
        if username
        else None
    )
    membership = getattr(user, "membership", None)
    return audit_record(
        actor=None,
        action=AdminAuditLog.Action.ACTION,
        obj=user,
        object_type=user_model._meta.label,
        merchant=membership.merchant if membership is not None else None,
        summary=f"back-office login {outcome}: {user.get_username() if user else 'unknown username'}",
        ip_address=ip_address,
    )
