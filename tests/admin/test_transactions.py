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
