from django.db import models
from django.utils import timezone

from .base import TenantQuerySet
from .tenancy import Merchant
from .transactions import LoyaltyTransaction


class IdempotencyRecord(models.Model):
    """One ``Idempotency-Key`` a store API client sent, and the answer its request got.

    Written by ``loyalty.services.idempotency`` only. The row is claimed
    (``in_progress``) in a transaction of its own before the operation runs,
    marked ``executed`` by the operation's ledger write in the operation's
    own transaction, and ``done`` once the answer is stored. ``request_hash``
    is a keyed HMAC of the method, path and body (the body may hold a staff
    PIN, so a plain hash would let anyone who reads the table test PINs).
    ``response_body`` is the JSON exactly as it was sent. Rows are kept at
    least ``IDEMPOTENCY_KEY_TTL_HOURS`` after ``created_at``, then pruned.
    """

    MERCHANT_LOOKUP = "merchant"

    class State(models.TextChoices):
        IN_PROGRESS = "in_progress", "in progress"
        EXECUTED = "executed", "executed, answer not stored yet"
        DONE = "done", "done"

    # The unique (merchant, key) index serves every lookup by merchant: no index of its own.
    merchant = models.ForeignKey(Merchant, on_delete=models.CASCADE, db_index=False, related_name="+")
    key = models.CharField(max_length=255)
    endpoint = models.CharField(max_length=255)  # "POST /api/v1/store/loyalty/stamp", for whoever reads the table
    request_hash = models.CharField(max_length=64)
    state = models.CharField(max_length=12, choices=State.choices, default=State.IN_PROGRESS)
    # Ledger rows are never deleted; the column only says which row the key's operation wrote.
    ledger_transaction = models.ForeignKey(
        LoyaltyTransaction, on_delete=models.SET_NULL, null=True, blank=True, db_index=False, related_name="+"
    )
    status_code = models.PositiveSmallIntegerField(null=True, blank=True)
    response_body = models.TextField(blank=True)
    created_at = models.DateTimeField(default=timezone.now, db_index=True)
    # Who holds the claim: a request that finds its claim changed was taken over and must not write.
    claimed_at = models.DateTimeField(default=timezone.now)

    objects = TenantQuerySet.as_manager()

    class Meta:
        constraints = [models.UniqueConstraint(fields=["merchant", "key"], name="idempotency_merchant_key_unique")]

    def __str__(self):
        return f"{self.endpoint} {self.state}"
