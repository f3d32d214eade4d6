"""The querysets that take row locks. Every balance change starts here.

``of=("self",)`` locks only the card row even when related rows are joined
in, so a hot program or customer row is never locked by a till operation.
"""

from loyalty.models import LoyaltyCard


def card_qs_for_update(*, merchant):
    return (
        LoyaltyCard.objects.for_merchant(merchant)
        .select_related("program", "customer")
        .order_by("pk")
        .select_for_update(of=("self",))
    )
