"""The admin audit log: one call records who did what to which object."""

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
