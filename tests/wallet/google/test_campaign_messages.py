"""A campaign reaches Google Wallet passes: one class message for "all cards", one message per pass otherwise.

Through the real campaign service and the local Google stand-in, which
enforces Google's three notifications per pass in 24 hours with a 429
``QuotaExceededException``.
"""

from datetime import timedelta

import pytest
from django.conf import settings
from django.utils import timezone

from loyalty.models import Campaign, CampaignDelivery, CampaignStatus
from loyalty.services.campaigns import CAMPAIGN_MAX_ATTEMPTS, campaign_create, campaign_schedule, campaign_send
from tests import factories
from wallet.google.services import google_save_url
from wallet.models import GoogleWalletMessage

from .fake_google import ISSUER_ID

pytestmark = [pytest.mark.django_db, pytest.mark.usefixtures("no_campaign_limits")]

TEXT = "Fresh apple pie this Saturday — come and try it!"


@pytest.fixture
def saved_cards(google_wallet, store, program):
    """Three cards saved to Google Wallet and one that was not; the stand-in's request log emptied."""
    cards = [factories.make_card(store) for _ in range(4)]
    for card in cards[:3]:
        google_save_url(card=card)
    google_wallet.requests.clear()
    return cards


def _object(card) -> str:
    return f"loyaltyObject/{ISSUER_ID}.loyalty-card-{card.pk}"


def _class(program) -> str:
    return f"loyaltyClass/{ISSUER_ID}.loyalty-program-{program.pk}"


def _send(author, **fields) -> Campaign:
    campaign = campaign_create(actor=author, **fields)
    campaign_schedule(actor=author, campaign_id=campaign.pk)  # its task runs eagerly at commit: none here
    campaign_send(campaign_id=campaign.pk)
    return campaign


def _google_rows(campaign):
    rows = CampaignDelivery.objects.filter(campaign=campaign, channel="google").order_by("card_id")
    return {row.card_id: (row.status, row.error) for row in rows}


def test_all_cards_is_one_class_message_that_notifies(author, program, saved_cards, google_wallet):
    campaign = _send(author, text_en=TEXT, text_fr="Tarte aux pommes samedi !", link_url="https://cafe.example/pie")

    assert [call.path for call in google_wallet.message_calls()] == [f"{_class(program)}/addMessage"]
    (message,) = google_wallet.messages(_class(program))
    assert message["id"] == f"campaign-{campaign.pk}" and message["messageType"] == "TEXT_AND_NOTIFY"
    assert message["header"] == "News" and message["body"] == f"{TEXT}\nhttps://cafe.example/pie"
    translated = {value["language"]: value["value"] for value in message["localizedBody"]["translatedValues"]}
    assert translated["fr"] == "Tarte aux pommes samedi !\nhttps://cafe.example/pie"
    assert {value["language"]: value["value"] for value in message["localizedHeader"]["translatedValues"]}["fr"] == (
        "Actualités"
    )
    # one row per card saved to Google, all sent by the one call; the card not in Google Wallet has none
    assert _google_rows(campaign) == {card.pk: ("sent", "") for card in saved_cards[:3]}
    assert Campaign.objects.get(pk=campaign.pk).status == CampaignStatus.SENT


def test_running_again_adds_no_second_class_message(author, program, saved_cards, google_wallet):
    campaign = _send(author, text_en=TEXT)
    # a worker killed after Google took the message, before anything was recorded: the next run asks Google first
    GoogleWalletMessage.objects.all().delete()
    CampaignDelivery.objects.filter(campaign=campaign).update(status="pending", sent_at=None)
    Campaign.objects.filter(pk=campaign.pk).update(status=CampaignStatus.SENDING)

    campaign_send(campaign_id=campaign.pk)

    assert len(google_wallet.message_calls()) == 1 and len(google_wallet.messages(_class(program))) == 1
    assert set(_google_rows(campaign).values()) == {("sent", "")}


def test_another_audience_gets_one_message_per_pass_and_the_fourth_alert_of_the_day_is_text(
    author, store, saved_cards, google_wallet
):
    busy = saved_cards[0]
    # the busy pass had a class message and two of its own today
    first = _send(author, text_en="Open on Sunday")  # all cards: a class message, one alert for each pass
    for number in (1, 2):
        GoogleWalletMessage.objects.create(
            google_object=busy.google_object, message_id=f"earlier-{number}", notified=True, created_at=first.created_at
        )

    campaign = _send(author, text_en=TEXT, audience="enrolled_at_store", audience_store=store)

    object_calls = google_wallet.message_calls("loyaltyObject")
    assert sorted(call.path for call in object_calls) == sorted(f"{_object(c)}/addMessage" for c in saved_cards[:3])
    kinds = {call.path: call.body["message"]["messageType"] for call in object_calls}
    assert kinds.pop(f"{_object(busy)}/addMessage") == "TEXT"
    assert set(kinds.values()) == {"TEXT_AND_NOTIFY"}
    rows = _google_rows(campaign)
    assert rows.pop(busy.pk) == ("sent", "text_only")
    assert set(rows.values()) == {("sent", "")}
    assert google_wallet.refused_notifications == 0  # our count kept within Google's


def test_a_quota_refusal_from_google_is_sent_again_as_text(author, store, saved_cards, google_wallet):
    # Google counted three alerts for this pass that we do not know of (sent by another system)
    google_wallet.notifications_seed(f"{ISSUER_ID}.loyalty-card-{saved_cards[1].pk}", 3)

    campaign = _send(author, text_en=TEXT, audience="enrolled_at_store", audience_store=store)

    calls = [c for c in google_wallet.message_calls() if c.path == f"{_object(saved_cards[1])}/addMessage"]
    assert [call.body["message"]["messageType"] for call in calls] == ["TEXT_AND_NOTIFY", "TEXT"]
    assert google_wallet.refused_notifications == 1
    assert _google_rows(campaign)[saved_cards[1].pk] == ("sent", "text_only")
    assert [m["messageType"] for m in google_wallet.messages(_object(saved_cards[1]))] == ["TEXT"]


def test_google_down_leaves_the_rows_pending_then_failed_after_the_last_attempt(
    author, store, saved_cards, google_wallet
):
    google_wallet.answer_next("POST", "addMessage", status=503, times=100)
    campaign = campaign_create(actor=author, text_en=TEXT, audience="enrolled_at_store", audience_store=store)
    campaign_schedule(actor=author, campaign_id=campaign.pk)

    first = campaign_send(campaign_id=campaign.pk)

    assert first.has_retries_pending and first.status == CampaignStatus.SENDING
    assert set(_google_rows(campaign).values()) == {("pending", "google_unavailable")}
    for _attempt in range(CAMPAIGN_MAX_ATTEMPTS - 1):
        last = campaign_send(campaign_id=campaign.pk)
    assert not last.has_retries_pending and last.status == CampaignStatus.SENT
    assert set(_google_rows(campaign).values()) == {("failed", "google_unavailable")}
    assert (
        CampaignDelivery.objects.filter(campaign=campaign, channel="google", attempts=CAMPAIGN_MAX_ATTEMPTS).count()
        == 3
    )


def test_a_refused_message_fails_its_row_at_once_with_the_status_only(author, store, saved_cards, google_wallet):
    google_wallet.answer_next("POST", f"card-{saved_cards[2].pk}/addMessage", status=400)

    campaign = _send(author, text_en=TEXT, audience="enrolled_at_store", audience_store=store)

    assert _google_rows(campaign)[saved_cards[2].pk] == ("failed", "google_rejected_400")
    assert Campaign.objects.get(pk=campaign.pk).status == CampaignStatus.SENT


def test_a_resumed_row_asks_google_first_and_sends_nothing_twice(author, store, saved_cards, google_wallet):
    campaign = _send(author, text_en=TEXT, audience="enrolled_at_store", audience_store=store)
    # the worker died after Google took the message for card 0, before recording it; its claim has lapsed
    GoogleWalletMessage.objects.filter(google_object__card=saved_cards[0]).delete()
    CampaignDelivery.objects.filter(campaign=campaign, card=saved_cards[0], channel="google").update(
        status="pending", claimed_at=timezone.now() - timedelta(seconds=settings.LOYALTY_CAMPAIGN_LEASE_SECONDS + 1)
    )
    Campaign.objects.filter(pk=campaign.pk).update(status=CampaignStatus.SENDING)
    google_wallet.requests.clear()

    campaign_send(campaign_id=campaign.pk)

    assert [(c.method, c.path) for c in google_wallet.requests] == [("GET", _object(saved_cards[0]))]
    assert len(google_wallet.messages(_object(saved_cards[0]))) == 1
    assert _google_rows(campaign)[saved_cards[0].pk] == ("sent", "")


def test_an_automatic_message_reaches_a_saved_pass_as_its_own_message(store, saved_cards, google_wallet, merchant):
    """The automatic messages go through the campaigns' door: one object message per card, within the quota."""
    from loyalty.models import AutomaticMessageDelivery, Customer
    from loyalty.services.automatic_messages import automatic_messages_run
    from loyalty.services.tenancy import merchant_settings_update

    merchant_settings_update(actor=factories.owner_actor(store), birthday_message_enabled=True)
    saved, never_saved = saved_cards[0], saved_cards[3]
    today = timezone.localtime(timezone.now(), timezone=store.zone) if hasattr(store, "zone") else timezone.now()
    Customer.objects.filter(pk__in=[saved.customer_id, never_saved.customer_id]).update(
        birthday_month=today.month, birthday_day=today.day
    )

    automatic_messages_run()

    row = AutomaticMessageDelivery.objects.get(card=saved, kind="birthday")
    (call,) = google_wallet.message_calls("loyaltyObject")
    assert call.path == f"{_object(saved)}/addMessage"
    assert call.body["message"]["id"] == f"automatic-{row.pk}"
    assert call.body["message"]["messageType"] == "TEXT_AND_NOTIFY"
    assert AutomaticMessageDelivery.objects.filter(card=never_saved, kind="birthday").exists()
