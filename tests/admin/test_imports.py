"""CSV import of existing cards: preview with per-row errors, then commit into the ledger."""

import pytest
from django.core.files.uploadedfile import SimpleUploadedFile
from django.test import override_settings
from django.urls import reverse

import loyalty.tasks
from loyalty.domain.actors import Actor, Channel
from loyalty.domain.identifiers import luhn_check_digit
from loyalty.models import LoyaltyCard, LoyaltyTransaction, TransactionType
from loyalty.services.imports import card_import_preview, card_import_progress, card_import_stage, card_import_start
from tests.admin.conftest import ledger_sums

pytestmark = pytest.mark.django_db

VALID_NUMBER = "40000000001" + luhn_check_digit("40000000001")
FREE_NUMBER = "40000000002" + luhn_check_digit("40000000002")
NUMBER_UNAVAILABLE = "This card number cannot be used; leave it empty to get a new one."


def _csv(world, *lines):
    header = "email;name;stamps;points;card_number"
    return ("\n".join([header, *lines]) + "\n").encode()


def _upload(client, content):
    return client.post(
        reverse("admin:loyalty_loyaltycard_import"), {"file": SimpleUploadedFile("cards.csv", content, "text/csv")}
    )


def test_preview_reports_each_bad_row_and_writes_nothing(world, clients):
    content = _csv(
        world,
        f"paper.one@example.com;Paper One;3;120;{VALID_NUMBER}",
        "not-an-email;Bad Mail;1;0;",
        "paper.two@example.com;Paper Two;-2;abc;",
        f"{world.alpha.card.customer.email};Already Here;1;1;",
        "paper.one@example.com;Twice;1;1;",
        "paper.three@example.com;Wrong Number;0;10;123456789012",
        f"paper.four@example.com;Taken Number;0;10;{world.alpha.second_store_card.card_number}",
    )
    cards_before = LoyaltyCard.objects.count()
    response = _upload(clients["owner"], content)
    assert response.status_code == 302
    preview = clients["owner"].get(response["Location"])
    page = preview.content.decode()
    assert "1 row(s) ready to import, 6 with problems" in page
    for message in (
        "“not-an-email” is not an e-mail address.",
        "Stamps must be a whole number of 0 or more, not “-2”.",
        "Points must be a whole number of 0 or more, not “abc”.",
        "This customer already has a card.",
        "This e-mail address appears earlier in the file.",
        "“123456789012” is not a valid 12-digit card number",
        NUMBER_UNAVAILABLE,
    ):
        assert message in page, message
    assert LoyaltyCard.objects.count() == cards_before


def test_commit_imports_the_valid_rows_into_the_ledger(world, clients):
    content = _csv(
        world,
        f"paper.one@example.com;Paper One;3;120;{VALID_NUMBER}",
        "paper.two@example.com;Paper Two;;45;",
        "bad;x;1;1;",
    )
    preview_url = _upload(clients["owner"], content)["Location"]
    response = clients["owner"].post(preview_url)
    assert response.status_code == 302
    progress = clients["owner"].get(preview_url).content.decode()
    assert 'id="bo-import-bar"' in progress
    status = clients["owner"].get(preview_url + "status/").json()
    assert status == {"status": "done", "total": 2, "processed": 2, "imported": 2, "failed": []}

    card = LoyaltyCard.objects.get(customer__email="paper.one@example.com")
    assert (card.card_number, card.stamp_count, card.points_balance, card.merchant) == (
        VALID_NUMBER,
        3,
        120,
        world.alpha.merchant,
    )
    imported = LoyaltyTransaction.objects.get(card=card, type=TransactionType.BALANCE_IMPORTED)
    assert (imported.stamps_delta, imported.points_delta, imported.acting_user) == (3, 120, world.owner)
    assert ledger_sums(card) == (card.stamp_count, card.points_balance)
    second = LoyaltyCard.objects.get(customer__email="paper.two@example.com")
    assert (second.stamp_count, second.points_balance) == (0, 45)
    assert not LoyaltyCard.objects.filter(customer__email="bad").exists()

    # A second click on "Import" imports nothing twice.
    clients["owner"].post(preview_url)
    assert LoyaltyTransaction.objects.filter(type=TransactionType.BALANCE_IMPORTED).count() == 2


def test_rows_that_fail_at_commit_are_reported_and_the_others_imported(world):
    actor = Actor(merchant=world.alpha.merchant, role="owner", channel=Channel.ADMIN, user=world.owner)
    preview = card_import_preview(
        merchant=world.alpha.merchant, data=_csv(world, "late@example.com;Late;1;1;", "fine@example.com;Fine;2;2;")
    )
    import_id = card_import_stage(actor=actor, preview=preview)
    # Between preview and commit, the customer enrolled at the till.
    from tests import factories

    factories.make_card(world.alpha.store, email="late@example.com")
    state = card_import_start(actor=actor, import_id=import_id)
    assert state["imported"] == 1
    assert state["failed"] == [{"line": 2, "email": "late@example.com", "error": "This customer already has a card."}]


def test_another_merchant_cannot_see_an_import(world, clients):
    preview_url = _upload(clients["owner"], _csv(world, "p@example.com;P;1;1;"))["Location"]
    assert clients["other_owner"].get(preview_url).status_code == 404
    assert clients["other_owner"].post(preview_url).status_code == 404
    assert not LoyaltyCard.objects.filter(customer__email="p@example.com").exists()


def test_managers_cannot_import(world, clients):
    assert clients["manager"].get(reverse("admin:loyalty_loyaltycard_import")).status_code == 403


def test_with_a_broker_the_import_runs_as_a_celery_task_after_commit(
    world, monkeypatch, django_capture_on_commit_callbacks
):
    queued = []
    monkeypatch.setattr(loyalty.tasks.card_import_task, "delay", lambda import_id: queued.append(import_id))
    actor = Actor(merchant=world.alpha.merchant, role="owner", channel=Channel.ADMIN, user=world.owner)
    import_id = card_import_stage(
        actor=actor,
        preview=card_import_preview(merchant=world.alpha.merchant, data=_csv(world, "q@example.com;Q;1;1;")),
    )
    with (
        override_settings(CELERY_BROKER_URL="redis://127.0.0.1:6379/9"),
        django_capture_on_commit_callbacks(execute=True),
    ):
        state = card_import_start(actor=actor, import_id=import_id)
    assert state["status"] == "queued" and queued == [import_id]
    assert not LoyaltyCard.objects.filter(customer__email="q@example.com").exists()
    loyalty.tasks.card_import_task.run(import_id)  # what the worker does
    assert card_import_progress(import_id=import_id, merchant=world.alpha.merchant)["imported"] == 1
    assert LoyaltyCard.objects.filter(customer__email="q@example.com").exists()


def test_points_for_a_stamps_only_program_are_refused(world):
    from loyalty.models import Program

    Program.objects.filter(pk=world.alpha.program.pk).update(loyalty_type="stamps")
    preview = card_import_preview(merchant=world.alpha.merchant, data=_csv(world, "s@example.com;S;1;50;"))
    assert preview.rows[0].errors == ["Your program has no points; leave the points column empty or 0."]


def test_the_import_never_tells_whether_another_merchant_uses_a_card_number(world):
    """Card numbers are unique platform-wide: another merchant's number looks free in the preview, and
    fails at import with the same words as a number of one's own."""
    actor = Actor(merchant=world.alpha.merchant, role="owner", channel=Channel.ADMIN, user=world.owner)
    beta_card = world.beta.card
    beta_before = (beta_card.customer_id, beta_card.card_number, beta_card.points_balance)
    own_number = world.alpha.second_store_card.card_number
    content = _csv(
        world,
        f"free@example.com;Free;1;1;{FREE_NUMBER}",
        f"beta.number@example.com;Beta Number;1;1;{beta_card.card_number}",
        f"own.number@example.com;Own Number;1;1;{own_number}",
    )

    preview = card_import_preview(merchant=world.alpha.merchant, data=content)

    free, beta, own = preview.rows
    assert free.errors == beta.errors == []  # the preview looks exactly as for a number nobody has
    assert own.errors == [NUMBER_UNAVAILABLE]  # the merchant's own card: it knows that number anyway

    # Between preview and import the free number is taken by one of alpha's own cards.
    import_id = card_import_stage(actor=actor, preview=preview)
    LoyaltyCard.objects.filter(pk=world.alpha.card.pk).update(card_number=FREE_NUMBER)
    state = card_import_start(actor=actor, import_id=import_id)

    assert state["imported"] == 0
    assert state["failed"] == [
        {"line": 2, "email": "free@example.com", "error": NUMBER_UNAVAILABLE},
        {"line": 3, "email": "beta.number@example.com", "error": NUMBER_UNAVAILABLE},
    ]
    assert not LoyaltyCard.objects.filter(customer__email__in=["free@example.com", "beta.number@example.com"]).exists()
    beta_card.refresh_from_db()
    assert (beta_card.customer_id, beta_card.card_number, beta_card.points_balance) == beta_before
