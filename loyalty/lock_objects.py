"""The querysets that take row locks. Every balance change starts here.

``of=("self",)`` locks only the card row even when related rows are joined
in, so a hot program or customer row is never locked by a till operation.
:func:`card_lock_sql` is the same lock as one hand-written statement, for the
till's stamp and earn (``loyalty/raw_sql.py``).
"""

from functools import cache

from django.db import connection

from loyalty.models import LoyaltyCard
from loyalty.raw_sql import column_list, database, for_update_of, row_instance, table
from loyalty_site.db import prepared_fetch_one

_CARD_COLUMNS = tuple(field.attname for field in LoyaltyCard._meta.concrete_fields)
_CARD_KEYS = {"pk": "id", "qr_code_data": "qr_code_data", "card_number": "card_number"}


def card_qs_for_update(*, merchant):
    return (
        LoyaltyCard.objects.for_merchant(merchant)
        .select_related("program", "customer")
        .order_by("pk")
        .select_for_update(of=("self",))
    )


def card_lock_sql(*, merchant, lookup: dict) -> LoyaltyCard | None:
    """The merchant's card named by ``lookup`` (a ``CardRef.lookup()``), locked; None when there is none.

    One statement, the card's own columns only (no program or customer row is built).
    """
    ((key, value),) = lookup.items()
    db = database()
    row = prepared_fetch_one(_card_lock_statement(key, db.vendor), [value, merchant.pk], connection=db, binary=True)
    return None if row is None else row_instance(LoyaltyCard, _CARD_COLUMNS, row)


@cache
def _card_lock_statement(key: str, vendor: str) -> str:
    return (
        f"SELECT {column_list(LoyaltyCard, _CARD_COLUMNS, 'c')} FROM {table(LoyaltyCard)} c "
        f"WHERE c.{connection.ops.quote_name(_CARD_KEYS[key])} = %s AND c.merchant_id = %s{for_update_of('c')}"
    )
