"""What every merchant-owned model shares: tenancy scoping and timestamps.

Scoping is a mechanism, not a habit: each tenant model names the lookup from
itself to its merchant once (``MERCHANT_LOOKUP``), and every selector,
viewset and admin class narrows querysets with ``.for_merchant(merchant)``.
"""

from django.db import models


class TenantQuerySet(models.QuerySet):
    def for_merchant(self, merchant):
        """Rows of this merchant only; ``merchant=None`` gives nothing, never everything."""
        # An id works for every lookup; an instance does not for Merchant's own "pk".
        merchant_id = getattr(merchant, "pk", merchant)
        if merchant_id is None:  # also an unsaved merchant: "merchant IS NULL" would match platform rows
            return self.none()
        return self.filter(**{self.model.MERCHANT_LOOKUP: merchant_id})


class TimestampedModel(models.Model):
    created_at = models.DateTimeField(auto_now_add=True)
    updated_at = models.DateTimeField(auto_now=True)

    class Meta:
        abstract = True
