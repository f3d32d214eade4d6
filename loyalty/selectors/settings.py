from django.db import IntegrityError, transaction

from loyalty.models import Merchant, MerchantSettings


def merchant_settings_get(*, merchant: Merchant) -> MerchantSettings:
    """The merchant's settings row, created on first use.

    The row is unique per merchant, so two processes creating it at once
    end with one row: the loser of the race reads the winner's.
    """
    found = MerchantSettings.objects.filter(merchant=merchant).first()
    if found is not None:
        return found
    try:
        with transaction.atomic():
            return MerchantSettings.objects.create(merchant=merchant)
    except IntegrityError:
        return MerchantSettings.objects.get(merchant=merchant)
