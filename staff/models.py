"""Who may do what: memberships (user ↔ merchant, role, stores), staff PINs, API tokens."""

from django.conf import settings
from django.db import models
from django.db.models import Q
from django.utils.translation import gettext_lazy as _

from loyalty.models import Merchant, Store, TenantQuerySet, TimestampedModel


class Role(models.TextChoices):
    OWNER = "owner", _("Owner")
    MANAGER = "manager", _("Manager")
    STAFF = "staff", _("Staff")


class Membership(TimestampedModel):
    """Gives a user a role at one merchant.

    A user belongs to at most one merchant (the back office shows "the
    logged-in user's merchant"). Owners act at every store of the merchant;
    managers and staff at the stores named in ``stores``. Platform
    administrators are superusers with no membership.
    """

    MERCHANT_LOOKUP = "merchant"

    user = models.OneToOneField(
        settings.AUTH_USER_MODEL, on_delete=models.CASCADE, related_name="membership", verbose_name=_("user")
    )
    merchant = models.ForeignKey(
        Merchant, on_delete=models.PROTECT, related_name="memberships", verbose_name=_("merchant")
    )
    role = models.CharField(_("role"), max_length=10, choices=Role.choices)
    stores = models.ManyToManyField(
        Store, blank=True, related_name="memberships", verbose_name=_("stores"),
        help_text=_("Managers and staff work at these stores; owners at all."),
    )
    is_active = models.BooleanField(_("active"), default=True)
    language = models.CharField(
        _("language"),
        max_length=8,
        choices=settings.LANGUAGES,
        default=settings.LANGUAGE_CODE,
        help_text=_("The daily alert e-mail reaches them in this language."),
    )

    objects = TenantQuerySet.as_manager()

    class Meta:
        verbose_name = _("membership")
        verbose_name_plural = _("memberships")

    def __str__(self):
        return f"{self.user} · {self.get_role_display()} · {self.merchant}"

    @property
    def is_owner(self) -> bool:
        return self.role == Role.OWNER

    @property
    def can_manage_pins(self) -> bool:
        return self.role in (Role.OWNER, Role.MANAGER)


class StaffPin(TimestampedModel):
    """A staff member's PIN at one store.

    Only a bcrypt hash is kept, plus ``lookup_digest``, a keyed HMAC of
    (store, PIN) that finds the one candidate row so verification costs one
    bcrypt check however many PINs the store has. The digest is unique among
    the active PINs of a store, so a PIN alone identifies its holder.
    ``failed_attempts`` counts the wrong PINs that named this PIN
    (``staff_pin_id``) within the lockout window, as of the last one;
    ``locked_until`` is set when it reaches the merchant's maximum.
    """

    MERCHANT_LOOKUP = "merchant"

    merchant = models.ForeignKey(Merchant, on_delete=models.PROTECT, related_name="+", verbose_name=_("merchant"))
    store = models.ForeignKey(Store, on_delete=models.PROTECT, related_name="staff_pins", verbose_name=_("store"))
    name = models.CharField(_("staff member"), max_length=120)
    staff_number = models.CharField(_("staff number"), max_length=32, blank=True)
    pin_hash = models.CharField(max_length=100, editable=False)
    lookup_digest = models.CharField(max_length=64, editable=False)
    is_active = models.BooleanField(_("active"), default=True)
    failed_attempts = models.PositiveIntegerField(_("failed attempts"), default=0)
    locked_until = models.DateTimeField(_("locked until"), null=True, blank=True)
    last_used_at = models.DateTimeField(_("last used"), null=True, blank=True)

    objects = TenantQuerySet.as_manager()

    class Meta:
        ordering = ["store", "name"]
        verbose_name = _("staff PIN")
        verbose_name_plural = _("staff PINs")
        constraints = [
            models.UniqueConstraint(
                fields=["store", "lookup_digest"], condition=Q(is_active=True), name="staffpin_unique_active_per_store"
            ),
        ]

    def __str__(self):
        return f"{self.name} ({self.store.code})"


class StorePinGuard(models.Model):
    """The PIN lockout of a store: brute force is bounded per store, not only per PIN.

    Every PIN check of the store locks this row first, so the store's
    checks are counted one after another across app processes.
    ``failed_attempts`` is the number of wrong PINs within the lockout window
    as of the last check (the window itself is the store's
    ``StorePinFailure`` rows); ``locked_until`` is set when it reaches the
    merchant's maximum.
    """

    MERCHANT_LOOKUP = "store__merchant"

    store = models.OneToOneField(Store, on_delete=models.CASCADE, related_name="pin_guard", primary_key=True)
    failed_attempts = models.PositiveIntegerField(default=0)
    locked_until = models.DateTimeField(null=True, blank=True)

    objects = TenantQuerySet.as_manager()

    class Meta:
        verbose_name = _("store PIN lockout")
        verbose_name_plural = _("store PIN lockouts")


class StorePinFailure(models.Model):
    """One wrong PIN at a store, or one being checked: a row of the store's sliding lockout window.

    A check writes its row before bcrypt runs and deletes it when the PIN
    turns out right, so attempts in flight count and no more than the
    maximum are ever evaluated. ``staff_pin`` is the PIN the caller named
    (``staff_pin_id``), if any. Rows older than the window are deleted by
    the store's next check; an unlock deletes all of the store's.
    """

    MERCHANT_LOOKUP = "store__merchant"

    store = models.ForeignKey(Store, on_delete=models.CASCADE, related_name="+")
    staff_pin = models.ForeignKey(StaffPin, on_delete=models.SET_NULL, null=True, blank=True, related_name="+")
    failed_at = models.DateTimeField()

    objects = TenantQuerySet.as_manager()

    class Meta:
        indexes = [models.Index(fields=["store", "failed_at"], name="storepinfailure_store_at_idx")]


class PinLockout(models.Model):
    """One lockout of the PIN guard, kept as history (the guard's ``locked_until`` is only the latest).

    ``staff_pin`` is empty for a store lockout (the store's window filled) and
    names the PIN for a PIN lockout (the failures that named it). The fraud
    alerts read it: each lockout, and a store locked out again and again in
    one day.
    """

    MERCHANT_LOOKUP = "store__merchant"

    store = models.ForeignKey(Store, on_delete=models.CASCADE, related_name="+")
    staff_pin = models.ForeignKey(StaffPin, on_delete=models.CASCADE, null=True, blank=True, related_name="+")
    failed_attempts = models.PositiveIntegerField()
    locked_at = models.DateTimeField()
    locked_until = models.DateTimeField()

    objects = TenantQuerySet.as_manager()

    class Meta:
        default_permissions = ()
        indexes = [models.Index(fields=["store", "locked_at"], name="pinlockout_store_at_idx")]


class ApiToken(models.Model):
    """A scanner-app or script token. Only the SHA-256 of the key is stored.

    Keys are 256 random bits, so a fast hash is enough (nothing to brute
    force) and lookup is one indexed equality. ``store`` is null only for a
    platform administrator's token (the admin API), which belongs to no
    merchant.

    ``password_fingerprint`` is a keyed HMAC of the user's password hash when
    the token was issued (as Django's session auth hash is for sessions): a
    password changed by any path — a form, ``set_password`` in a shell — no
    longer matches it, and the token stops at its next request.
    """

    MERCHANT_LOOKUP = "store__merchant"

    user = models.ForeignKey(
        settings.AUTH_USER_MODEL, on_delete=models.CASCADE, related_name="api_tokens", verbose_name=_("user")
    )
    membership = models.ForeignKey(Membership, on_delete=models.CASCADE, null=True, blank=True, related_name="tokens")
    store = models.ForeignKey(
        Store, on_delete=models.CASCADE, null=True, blank=True, related_name="+", verbose_name=_("store")
    )
    key_digest = models.CharField(max_length=64, unique=True, editable=False)
    key_prefix = models.CharField(_("key prefix"), max_length=8, editable=False)
    password_fingerprint = models.CharField(max_length=64, editable=False, default="")
    created_at = models.DateTimeField(_("created"), auto_now_add=True)
    expires_at = models.DateTimeField(_("expires at"), null=True, blank=True)
    last_used_at = models.DateTimeField(_("last used"), null=True, blank=True)
    revoked_at = models.DateTimeField(_("revoked at"), null=True, blank=True)
    user_agent = models.CharField(_("device (User-Agent)"), max_length=256, blank=True)

    objects = TenantQuerySet.as_manager()

    class Meta:
        ordering = ["-created_at"]
        verbose_name = _("API token")
        verbose_name_plural = _("API tokens")

    def __str__(self):
        # Never the key nor its prefix: this string reaches admin pages, their history and the audit log.
        return f"#{self.pk} · {self.user}"
