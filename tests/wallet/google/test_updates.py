"""Live updates: every balance change PATCHes the object, program edits PATCH the class.

Till operations go through the real loyalty services; the on-commit callbacks
run (Celery is eager without a broker), and the requests that reach the local
Google stand-in are asserted exactly.
"""

import logging
import time

import pytest
from celery.exceptions import Retry

from loyalty.domain.cards import CardRef
from loyalty.models import LoyaltyCard
from loyalty.services.cards import card_deactivate
from loyalty.services.points import points_earn
from loyalty.services.programs import program_update
from loyalty.services.stamps import stamp_add
from tests import factories
from wallet.google import backend, config, tasks
from wallet.google.client import GoogleWalletUnavailable
from wallet.google.services import google_save_url, google_sync_card, google_sync_program
from wallet.models import GoogleWalletObject

from .fake_google import ISSUER_ID, SITE_URL

pytestmark = pytest.mark.django_db


@pytest.fixture
def saved_card(google_wallet, card):
    """A card the customer added to Google Wallet (class and object inserted); the request log emptied."""
    google_save_url(card=card)
    google_wallet.requests.clear()
    return card


def _object_path(card) -> str:
    return f"loyaltyObject/{ISSUER_ID}.loyalty-card-{card.pk}"


def _class_path(program) -> str:
    return f"loyaltyClass/{ISSUER_ID}.loyalty-program-{program.pk}"


def test_a_stamp_patches_only_the_stamp_balance(google_wallet, saved_card, actor, django_capture_on_commit_callbacks):
    with django_capture_on_commit_callbacks(execute=True):
        stamp_add(actor=actor, card_ref=CardRef(card_id=saved_card.pk))

    assert google_wallet.calls() == [("GET", _object_path(saved_card)), ("PATCH", _object_path(saved_card))]
    assert google_wallet.bodies("PATCH") == [{"loyaltyPoints": {"label": "Stamps", "balance": {"string": "1/10"}}}]
    assert google_wallet.resources[_object_path(saved_card)]["loyaltyPoints"]["balance"] == {"string": "1/10"}
    assert all(request.authorization.startswith("Bearer ") for request in google_wallet.requests)


def test_points_on_a_hybrid_card_patch_the_secondary_balance(
    google_wallet, saved_card, actor, django_capture_on_commit_callbacks
):
    with django_capture_on_commit_callbacks(execute=True):
        points_earn(actor=actor, card_ref=CardRef(card_id=saved_card.pk), purchase_amount_cents=1250)

    assert google_wallet.bodies("PATCH") == [{"secondaryLoyaltyPoints": {"label": "Points", "balance": {"int": 125}}}]


def test_deactivating_a_card_makes_its_object_inactive(
    google_wallet, saved_card, owner, django_capture_on_commit_callbacks
):
    with django_capture_on_commit_callbacks(execute=True):
        card_deactivate(actor=owner, card_ref=CardRef(card_id=saved_card.pk), reason="lost")

    assert google_wallet.bodies("PATCH") == [{"state": "INACTIVE"}]
    assert google_wallet.resources[_object_path(saved_card)]["state"] == "INACTIVE"


def test_a_card_never_saved_to_google_sends_nothing(google_wallet, card, actor, django_capture_on_commit_callbacks):
    with django_capture_on_commit_callbacks(execute=True):
        stamp_add(actor=actor, card_ref=CardRef(card_id=card.pk))

    assert google_wallet.requests == []
    assert google_wallet.token_requests == 0


def test_an_insert_that_meets_409_gets_then_patches(google_wallet, card):
    # given Google already holds the object (inserted by an earlier run) but answers our first GET with 404
    google_save_url(card=card)
    GoogleWalletObject.objects.filter(card=card).update(last_payload={}, synced_at=None)
    google_wallet.requests.clear()
    google_wallet.answer_next("GET", "loyaltyObject", status=404)

    # when
    assert google_sync_card(card.pk) is True

    # then: GET 404, insert 409, GET, PATCH of every field (nothing known to be on Google's side)
    path = _object_path(card)
    assert google_wallet.calls() == [("GET", path), ("POST", "loyaltyObject"), ("GET", path), ("PATCH", path)]
    patch_body = google_wallet.bodies("PATCH")[0]
    assert set(patch_body) == {
        "classId",
        "state",
        "accountId",
        "accountName",
        "loyaltyPoints",
        "secondaryLoyaltyPoints",
        "barcode",
    }
    assert patch_body["accountId"] == card.card_number


def test_program_edits_patch_the_class_with_changed_fields_and_review_status(
    google_wallet, saved_card, owner, django_capture_on_commit_callbacks
):
    with django_capture_on_commit_callbacks(execute=True):
        program_update(actor=owner, name="Bean Card", background_color="#112233")

    program = saved_card.program
    assert google_wallet.calls() == [("GET", _class_path(program)), ("PATCH", _class_path(program))]
    (body,) = google_wallet.bodies("PATCH")
    assert set(body) == {"programName", "hexBackgroundColor", "reviewStatus"}
    assert body["programName"] == "Bean Card"
    assert body["hexBackgroundColor"] == "#112233"
    assert body["reviewStatus"] == "UNDER_REVIEW"


def test_a_class_sent_with_a_localized_program_name_is_replaced_without_it(
    google_wallet, saved_card, owner, django_capture_on_commit_callbacks
):
    # given: the class as an earlier version sent it, the name with a " – loyalty card" suffix Google shows instead
    record = saved_card.program.google_class
    localized = {"defaultValue": {"language": "en", "value": "Coffee Card – loyalty card"}, "translatedValues": []}
    record.last_payload = {**record.last_payload, "localizedProgramName": localized}
    record.save(update_fields=["last_payload"])
    google_wallet.resources[_class_path(saved_card.program)]["localizedProgramName"] = localized

    # when: the program changes
    with django_capture_on_commit_callbacks(execute=True):
        program_update(actor=owner, name="Bean Card")

    # then: the class is replaced whole, so Google drops the old name
    path = _class_path(saved_card.program)
    assert google_wallet.calls() == [("GET", path), ("PUT", path)]
    assert "localizedProgramName" not in google_wallet.resources[path]
    assert google_wallet.resources[path]["programName"] == "Bean Card"


def test_a_program_edit_that_changes_nothing_google_shows_sends_nothing(
    google_wallet, saved_card, owner, django_capture_on_commit_callbacks
):
    with django_capture_on_commit_callbacks(execute=True):
        program_update(actor=owner, cooldown_minutes=30)

    assert google_wallet.requests == []


def test_a_field_we_stop_sending_is_removed_by_replacing_the_class(google_wallet, merchant, store, program):
    merchant.website = "https://cafe-alpha.example.com"
    merchant.save()
    card = factories.make_card(store)
    google_save_url(card=card)
    google_wallet.requests.clear()
    merchant.website = ""
    merchant.save()

    assert google_sync_program(program.pk) is True

    assert google_wallet.calls() == [("GET", _class_path(program)), ("PUT", _class_path(program))]
    assert "linksModuleData" not in google_wallet.resources[_class_path(program)]


def test_a_google_failure_never_breaks_the_till_and_marks_the_card(
    google_wallet, saved_card, actor, django_capture_on_commit_callbacks
):
    google_wallet.answer_next("PATCH", "loyaltyObject", status=500)

    with django_capture_on_commit_callbacks(execute=True):
        result = stamp_add(actor=actor, card_ref=CardRef(card_id=saved_card.pk))

    assert result.card.stamp_count == 1  # the stamp stands
    saved_card.refresh_from_db()
    assert saved_card.wallet_needs_sync is True
    # eagerly (no broker) there is one attempt only, so the till waits for at most one call
    assert google_wallet.calls() == [("GET", _object_path(saved_card)), ("PATCH", _object_path(saved_card))]
    # what Google last accepted is unchanged, so the hourly sync sends the stamp again
    assert GoogleWalletObject.objects.get(card=saved_card).last_payload["loyaltyPoints"]["balance"] == {
        "string": "0/10"
    }


def test_a_slow_google_times_out_and_marks_the_card(
    google_wallet, settings, saved_card, actor, django_capture_on_commit_callbacks
):
    settings.LOYALTY_GOOGLE_TIMEOUT_SECONDS = 0.3
    google_wallet.answer_next("GET", "loyaltyObject", delay_seconds=1.5)

    started = time.monotonic()
    with django_capture_on_commit_callbacks(execute=True):
        stamp_add(actor=actor, card_ref=CardRef(card_id=saved_card.pk))
    elapsed = time.monotonic() - started

    assert elapsed < 1.2  # bounded by the timeout, not by Google's 1.5 s
    saved_card.refresh_from_db()
    assert saved_card.wallet_needs_sync is True


def test_the_hourly_sync_sends_what_a_failed_update_missed(google_wallet, saved_card, actor):
    google_wallet.answer_next("PATCH", "loyaltyObject", status=503)
    stamp_add(actor=actor, card_ref=CardRef(card_id=saved_card.pk))
    with pytest.raises(GoogleWalletUnavailable):
        backend.sync_card(saved_card.pk)  # the hourly job sees the failure

    backend.sync_card(saved_card.pk)  # and its next run succeeds

    assert google_wallet.bodies("PATCH")[-1] == {"loyaltyPoints": {"label": "Stamps", "balance": {"string": "1/10"}}}


def test_a_worker_retries_with_growing_backoff_then_gives_up(google_wallet, saved_card, actor, monkeypatch):
    stamp_add(actor=actor, card_ref=CardRef(card_id=saved_card.pk))
    google_wallet.answer_next("PATCH", "loyaltyObject", status=429, times=10)
    countdowns = []

    def retry(exc=None, countdown=None, max_retries=None, **options):
        countdowns.append(countdown)
        assert isinstance(exc, GoogleWalletUnavailable)
        return Retry(exc=exc, when=countdown)

    monkeypatch.setattr(tasks.google_card_update, "retry", retry)

    # as a worker runs it (not eagerly): each failure asks for a later retry
    for attempt in range(tasks.MAX_RETRIES):
        tasks.google_card_update.push_request(retries=attempt, is_eager=False)
        try:
            with pytest.raises(Retry):
                tasks.google_card_update.run(saved_card.pk)
        finally:
            tasks.google_card_update.pop_request()
    assert countdowns == [30, 60, 120, 240, 480]
    assert LoyaltyCard.objects.get(pk=saved_card.pk).wallet_needs_sync is False

    # the last try fails too: no more retries, the card is marked for the hourly sync
    tasks.google_card_update.push_request(retries=tasks.MAX_RETRIES, is_eager=False)
    try:
        tasks.google_card_update.run(saved_card.pk)
    finally:
        tasks.google_card_update.pop_request()
    assert countdowns == [30, 60, 120, 240, 480]
    assert LoyaltyCard.objects.get(pk=saved_card.pk).wallet_needs_sync is True


def test_a_refusal_is_not_retried(google_wallet, saved_card, actor, monkeypatch):
    stamp_add(actor=actor, card_ref=CardRef(card_id=saved_card.pk))
    google_wallet.answer_next("PATCH", "loyaltyObject", status=400)
    monkeypatch.setattr(tasks.google_card_update, "retry", lambda **kwargs: pytest.fail("a 400 must not be retried"))

    tasks.google_card_update.push_request(retries=0, is_eager=False)
    try:
        tasks.google_card_update.run(saved_card.pk)
    finally:
        tasks.google_card_update.pop_request()

    assert LoyaltyCard.objects.get(pk=saved_card.pk).wallet_needs_sync is True


def test_a_class_update_that_finally_fails_marks_the_saved_cards(
    google_wallet, saved_card, store, owner, django_capture_on_commit_callbacks
):
    unsaved_card = factories.make_card(store)
    google_wallet.answer_next("PATCH", "loyaltyClass", status=502)

    with django_capture_on_commit_callbacks(execute=True):
        program_update(actor=owner, name="Bean Card")

    assert LoyaltyCard.objects.get(pk=saved_card.pk).wallet_needs_sync is True
    assert LoyaltyCard.objects.get(pk=unsaved_card.pk).wallet_needs_sync is False
    # and the card's next sync brings the class up to date first
    google_wallet.requests.clear()
    backend.sync_card(saved_card.pk)
    assert google_wallet.calls()[:2] == [
        ("GET", _class_path(saved_card.program)),
        ("PATCH", _class_path(saved_card.program)),
    ]


# --- Not configured ------------------------------------------------------------------------------
def test_nothing_is_sent_when_google_wallet_is_not_configured(
    client, google_wallet_off, fake_google, store, program, owner, django_capture_on_commit_callbacks
):
    with django_capture_on_commit_callbacks(execute=True):
        card = factories.make_card(store)
        stamp_add(actor=factories.till_actor(store), card_ref=CardRef(card_id=card.pk))
        program_update(actor=owner, name="Bean Card")

    assert backend.is_configured() is False
    assert backend.links(card) == {}
    response = client.get(f"/api/v1/loyalty/passes/google/{card.public_token}/save")
    assert response.status_code == 404
    assert response.json()["error"]["code"] == "GOOGLE_WALLET_NOT_CONFIGURED"
    assert google_sync_card(card.pk) is False
    assert fake_google.requests == [] and fake_google.token_requests == 0
    assert not GoogleWalletObject.objects.exists()


def test_the_reason_google_wallet_is_off_is_logged_once(google_wallet_off, monkeypatch, caplog):
    monkeypatch.setattr(config, "_reported", set())

    with caplog.at_level(logging.INFO, logger="wallet.google.config"):
        for _ in range(3):
            assert backend.is_configured() is False

    messages = [record.getMessage() for record in caplog.records]
    assert messages == [
        "google_wallet.disabled: Google Wallet is off: "
        "LOYALTY_GOOGLE_ISSUER_ID and LOYALTY_GOOGLE_SERVICE_ACCOUNT_JSON not set"
    ]


def test_an_unreadable_key_file_turns_google_wallet_off_and_says_so(
    settings, tmp_path, monkeypatch, caplog, service_account_key
):
    monkeypatch.setattr(config, "_reported", set())
    settings.LOYALTY_GOOGLE_ISSUER_ID = ISSUER_ID
    settings.LOYALTY_GOOGLE_SERVICE_ACCOUNT_JSON = str(tmp_path / "missing.json")

    with caplog.at_level(logging.INFO, logger="wallet.google.config"):
        assert backend.is_configured() is False
        broken = tmp_path / "broken.json"
        broken.write_text('{"type": "service_account", "private_key": "%s"}' % "x")
        settings.LOYALTY_GOOGLE_SERVICE_ACCOUNT_JSON = str(broken)
        assert backend.is_configured() is False

    messages = [record.getMessage() for record in caplog.records]
    assert "LOYALTY_GOOGLE_SERVICE_ACCOUNT_JSON: cannot read" in messages[0]
    assert "missing: client_email, private_key_id, token_uri" in messages[1]
    assert all(service_account_key.private_key_pem[40:80] not in message for message in messages)


def test_links_use_the_site_url(google_wallet, card):
    assert backend.links(card)["google_save_url"].startswith(f"{SITE_URL}/api/v1/loyalty/passes/google/")


@pytest.mark.postgres
@pytest.mark.django_db(transaction=True)
def test_two_syncs_of_one_card_reach_google_in_order(google_wallet, saved_card):
    """The object row lock: a later balance never gets overwritten by an earlier, slower sync."""
    import threading

    from django.db import connection

    def sync():
        try:
            google_sync_card(saved_card.pk)
        finally:
            connection.close()

    # given the first sync is slow at Google, holding the card's object row
    LoyaltyCard.objects.filter(pk=saved_card.pk).update(stamp_count=1)
    google_wallet.answer_next("GET", "loyaltyObject", delay_seconds=0.6)
    first = threading.Thread(target=sync)
    first.start()
    deadline = time.monotonic() + 5
    while not google_wallet.requests and time.monotonic() < deadline:
        time.sleep(0.01)  # the first sync has read the card (1 stamp) and is waiting on Google

    # when a second stamp lands and its sync starts meanwhile
    LoyaltyCard.objects.filter(pk=saved_card.pk).update(stamp_count=2)
    second = threading.Thread(target=sync)
    second.start()
    first.join(10)
    second.join(10)

    # then Google got 1/10 then 2/10, and holds the latest
    balances = [body["loyaltyPoints"]["balance"]["string"] for body in google_wallet.bodies("PATCH")]
    assert balances == ["1/10", "2/10"]
    assert google_wallet.resources[_object_path(saved_card)]["loyaltyPoints"]["balance"] == {"string": "2/10"}
