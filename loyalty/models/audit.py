from django.conf import settings
from django.db import models
from django.utils import timezone
from django.utils.translation import gettext_lazy as _

from .base import TenantQuerySet
from .tenancy import Merchant


class AdminAuditLog(models.Model):
    """Who looked at or changed what in the back office and the admin API.

    Django's LogEntry keeps neither reads nor old values; this does. Rows
    are written by ``loyalty.services.audit.audit_record`` only and never
    changed. ``changes`` maps field names to ``[old, new]`` and never holds a
    secret (PIN fields are recorded as "changed", not by value).
    """

    MERCHANT_LOOKUP = "merchant"

    class Action(models.TextChoices):
        VIEW = "view", _("viewed")
        CREATE = "create", _("created")
        CHANGE = "change", _("changed")
        DELETE = "delete", _("deleted")
        EXPORT = "export", _("exported")
        ACTION = "action", _("action")

    actor = models.ForeignKey(settings.AUTH_USER_MODEL, on_delete=models.PROTECT, null=True, related_name="+")
    merchant = models.ForeignKey(Merchant, on_delete=models.PROTECT, null=True, blank=True, related_name="+")
    action = models.CharField(_("action"), max_length=10, choices=Action.choices)
    object_type = models.CharField(_("object type"), max_length=100)
    object_id = models.CharField(_("object id"), max_length=64, blank=True)
    summary = models.CharField(_("summary"), max_length=255, blank=True)
    changes = models.JSONField(_("changes"), default=dict, blank=True)
    ip_address = models.GenericIPAddressField(null=True, blank=True)
    created_at = models.DateTimeField(_("time"), default=timezone.now, db_index=True)

    objects = TenantQuerySet.as_manager()

    class Meta:
        ordering = ["-created_at", "-id"]
        default_permissions = ("view",)
        verbose_name = _("admin audit entry")
        verbose_name_plural = _("admin audit log")
        indexes = [models.Index(fields=["merchant", "-created_at"], name="audit_merchant_created_idx")]

    def __str__(self):
        return f"{self.actor} {self.action} {self.object_type} {self.object_id}"
