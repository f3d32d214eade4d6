"""A campaign to 1,000 cards through the real pieces: Redis, Celery worker processes, PostgreSQL, the local
APNs (HTTP/2) and the local Google Wallet API — and a worker killed in the middle of it.

Every Apple pass gets its update (the tag moves, its phone gets a push),
Google gets one class message, e-mail goes only to consenting customers and
its one-click unsubscribe works; the worker is killed (SIGKILL: no goodbye)
while it is pushing, another worker is started, and the next run of the
minute job resumes the campaign once the dead run's lease has lapsed: no row
twice, no card left out. A second campaign to some of the cards then shows
Google's three alerts a day: the pass that had them gets the message as
``TEXT``.
"""

import email
import os
import secrets
import signal
from collections import Counter
from pathlib import Path

import pytest
from django.utils import timezone

from loyalty.domain.actors import Actor, Channel
from loyalty.domain.identifiers import new_card_number, new_secret_token
from loyalty.models import Campaign, CampaignDelivery, CampaignStatus, Customer, LoyaltyCard
from loyalty.selectors.wallet import card_news_get
from loyalty.services.campaigns import campaign_create, campaign_schedule
from loyalty.tasks import start_due_campaigns
from tests import factories
from tests.reliability.conftest import worker_env_for_apple, worker_env_for_google
from tests.wallet.google.fake_google import ISSUER_ID
from wallet.google import payloads
from wallet.google.config import config_get
from wallet.google.services import google_save_url
from wallet.models import AppleDeviceRegistration, ApplePass, GoogleWalletClass, GoogleWalletMessage, GoogleWalletObject

pytestmark = [pytest.mark.postgres, pytest.mark.redis, pytest.mark.django_db(transaction=True)]

CARDS = 1000
GOOGLE_CARDS = CARDS // 5
TEXT = "Fresh apple pie this Saturday — come and try it!"
LATER_TEXT = "Our terrace opens on Sunday"
LEASE_SECONDS = 3  # a dead run is given up quickly here; batches of 25 take well under that


def _cards_bulk(merchant, program, stores: list) -> list:
    """``len(stores)`` customers with a card each (every other one consenting to e-mail), written in bulk.

    The rows ``customer_enroll`` writes, minus its enrollment e-mail and ledger row (no audience here reads
    those): a thousand enrollments one by one would be most of this test's time.
    """
    now = timezone.now()
    customers = Customer.objects.bulk_create(
        Customer(
            merchant=merchant,
            email=f"holder{index}@example.com",
            full_name=f"Holder {index}",
            marketing_consent=index % 2 == 0,
            marketing_consent_at=now if index % 2 == 0 else None,
            terms_accepted_at=now,
        )
        for index in range(len(stores))
    )
    LoyaltyCard.objects.bulk_create(
        LoyaltyCard(
            merchant=merchant,
            program=program,
            customer=customer,
            enrolled_store=store,
            card_number=new_card_number(),
            qr_code_data=new_secret_token(),
            public_token=new_secret_token(),
        )
        for customer, store in zip(customers, stores, strict=True)
    )
    return list(LoyaltyCard.objects.filter(merchant=merchant).select_related("customer").order_by("pk"))


@pytest.fixture
def world(apns_server, google_wallet, settings):
    """1,000 cards: every pass on a phone, 200 also in Google Wallet, every other customer consenting to e-mail.

    The first ten cards are of a second store (the second campaign's audience); five of them are in Google Wallet.
    """
    settings.LOYALTY_CAMPAIGN_WINDOW_START_HOUR = 0
    settings.LOYALTY_CAMPAIGN_WINDOW_END_HOUR = 24
    settings.LOYALTY_CAMPAIGNS_PER_DAY = 10
    merchant = factories.make_merchant()
    main, corner = factories.make_store(merchant), factories.make_store(merchant)
    program = factories.make_program(merchant)
    cards = _cards_bulk(merchant, program, [corner if index < 10 else main for index in range(CARDS)])
    # each pass on a phone registered for pushes, as the PassKit web service records it
    now = timezone.now()
    passes = ApplePass.objects.bulk_create(
        ApplePass(
            card=card,
            serial_number=secrets.token_hex(16),
            authentication_token=secrets.token_urlsafe(24),
            change_tag=index + 1,
            changed_at=now,
        )
        for index, card in enumerate(cards)
    )
    AppleDeviceRegistration.objects.bulk_create(
        AppleDeviceRegistration(
            apple_pass=apple_pass, device_library_identifier=f"phone-{index}", push_token=f"push-{apple_pass.card_id}"
        )
        for index, apple_pass in enumerate(passes)
    )
    # cards 5-9 of the corner store and 195 of the main one saved to Google Wallet: the first through the save
    # link (class and object inserted), the others as that leaves them, written directly (faster than 199 links)
    google_save_url(card=cards[5])
    class_id = GoogleWalletClass.objects.get(program=program).class_id
    config = config_get()
    objects = []
    for card in cards[6 : GOOGLE_CARDS + 5]:
        payload = {**payloads.object_payload(card, config, object_id=payloads.object_id_for(card, config))}
        payload["classId"] = class_id
        google_wallet.resources[f"loyaltyObject/{payload['id']}"] = dict(payload)
        objects.append(GoogleWalletObject(card=card, object_id=payload["id"], last_payload=payload, synced_at=now))
    GoogleWalletObject.objects.bulk_create(objects)
    google_wallet.requests.clear()
    apns_server.reset()
    user = factories.make_user(role="owner", merchant=merchant)
    author = Actor(merchant=merchant, user=user, role="owner", channel=Channel.ADMIN)
    return {"author": author, "cards": cards, "corner": corner}


def _emails(directory: Path) -> list[email.message.Message]:
    """Every e-mail the workers wrote (Django's file backend: one file per connection, messages split by dashes)."""
    messages = []
    for path in sorted(directory.glob("*.log")):
        for chunk in path.read_bytes().split(b"\n" + b"-" * 79 + b"\n"):
            if chunk.strip():
                messages.append(email.message_from_bytes(chunk))
    return messages


def _text_of(message: email.message.Message) -> str:
    part = next(part for part in message.walk() if part.get_content_type() == "text/plain")
    return part.get_payload(decode=True).decode()


def _rows(campaign) -> Counter:
    return Counter(CampaignDelivery.objects.filter(campaign=campaign).values_list("channel", "status"))


def test_a_campaign_to_1000_cards_survives_a_killed_worker_and_respects_google_alerts(
    world, apns_server, google_wallet, celery_worker, settings, tmp_path, client
):
    cards, author = world["cards"], world["author"]
    mail_directory = tmp_path / "mail"
    mail_directory.mkdir()
    env = {
        **worker_env_for_apple(settings),
        **worker_env_for_google(settings),
        "EMAIL_URL": f"filemail:///{mail_directory}",
        "LOYALTY_CAMPAIGN_BATCH_SIZE": "25",
        "LOYALTY_CAMPAIGN_LEASE_SECONDS": str(LEASE_SECONDS),
    }
    tags_before = dict(ApplePass.objects.values_list("card_id", "change_tag"))
    first = celery_worker(env)

    # when: "all cards", sent now; the worker is killed while it is pushing to the phones
    campaign = campaign_create(actor=author, text_en=TEXT, text_fr="Tarte aux pommes samedi !")
    campaign_schedule(actor=author, campaign_id=campaign.pk)  # commits: the task goes to Redis
    first.wait_until(lambda: len(apns_server.requests) >= CARDS * 3 // 10, what="the worker to be pushing the campaign")
    os.kill(first.process.pid, signal.SIGKILL)
    first.process.wait(timeout=10)

    # then: the campaign is stranded half-way
    assert Campaign.objects.get(pk=campaign.pk).status == CampaignStatus.SENDING
    assert _rows(campaign)[("apple", "sent")] < CARDS
    assert _emails(mail_directory) == []  # wallets go first: no e-mail had left yet

    # when: another worker, and the minute job's next run once the dead run's lease has lapsed
    second = celery_worker(env)
    second.wait_until(
        lambda: Campaign.objects.filter(pk=campaign.pk, lease_until__lt=timezone.now()).exists(),
        what="the dead run's lease to lapse",
    )
    start_due_campaigns.delay()
    second.wait_until(
        lambda: Campaign.objects.get(pk=campaign.pk).status == CampaignStatus.SENT,
        what="the campaign to finish",
        limit=400,  # a loaded machine: minutes, not seconds
    )

    # then: one row per card and channel, each done
    consenting = {card.customer.email for card in cards[::2]}
    assert _rows(campaign) == {
        ("email", "sent"): CARDS // 2,
        ("email", "skipped"): CARDS // 2,
        ("apple", "sent"): CARDS,
        ("google", "sent"): GOOGLE_CARDS,
    }
    # every Apple pass changed and shows the campaign; every phone got its push — twice at most for the one
    # pass the killed worker had pushed but not yet marked (the same pass again: no second alert on the phone)
    assert all(tag > tags_before[card_id] for card_id, tag in ApplePass.objects.values_list("card_id", "change_tag"))
    assert card_news_get(card_id=cards[-1].pk).key == str(campaign.pk)
    pushes = Counter(request["path"].rsplit("/", 1)[-1] for request in apns_server.requests)
    assert set(pushes) == {f"push-{card.pk}" for card in cards}
    assert sum(pushes.values()) - CARDS <= 1, [token for token, count in pushes.items() if count > 1]
    # Google: one class message for the whole program, nothing per pass
    assert [call.path.split("/")[0] for call in google_wallet.message_calls()] == ["loyaltyClass"]
    (class_path,) = [path for path in google_wallet.resources if path.startswith("loyaltyClass/")]
    assert [message["messageType"] for message in google_wallet.messages(class_path)] == ["TEXT_AND_NOTIFY"]
    # e-mail: each consenting customer once, nobody else
    sent = _emails(mail_directory)
    assert Counter(message["To"] for message in sent) == Counter(consenting)

    # when: a customer of the corner store unsubscribes with the one-click POST of the e-mail's header
    unsubscriber = cards[0].customer
    (to_unsubscriber,) = [message for message in sent if message["To"] == unsubscriber.email]
    url = "".join(to_unsubscriber["List-Unsubscribe"].split()).strip("<>")
    assert to_unsubscriber["List-Unsubscribe-Post"] == "List-Unsubscribe=One-Click"
    response = client.post("/" + url.split("://", 1)[1].split("/", 1)[1], {"List-Unsubscribe": "One-Click"})
    assert response.status_code == 200
    assert Customer.objects.get(pk=unsubscriber.pk).marketing_consent is False

    # and: a second campaign to the corner store's cards; one of its Google passes already had its three alerts
    # today (the class message above, and two of its own)
    busy = cards[5]
    for number in (1, 2):
        GoogleWalletMessage.objects.create(
            google_object=busy.google_object, message_id=f"earlier-{number}", notified=True, created_at=timezone.now()
        )
    google_wallet.notifications_seed(busy.google_object.object_id, 2)
    google_wallet.requests.clear()
    later = campaign_create(
        actor=author, text_en=LATER_TEXT, audience="enrolled_at_store", audience_store=world["corner"]
    )
    campaign_schedule(actor=author, campaign_id=later.pk)
    second.wait_until(
        lambda: Campaign.objects.get(pk=later.pk).status == CampaignStatus.SENT, what="the second campaign to finish"
    )

    # then: one message per Google pass of the audience, the busy one without an alert; Google refused nothing
    kinds = {
        call.path.split("/")[1].removeprefix(f"{ISSUER_ID}.loyalty-card-"): call.body["message"]["messageType"]
        for call in google_wallet.message_calls()
    }
    assert kinds == {str(card.pk): "TEXT_AND_NOTIFY" for card in cards[6:10]} | {str(busy.pk): "TEXT"}
    assert google_wallet.refused_notifications == 0
    assert CampaignDelivery.objects.get(campaign=later, card=busy, channel="google").error == "text_only"
    # e-mail: the corner store's consenting customers, but not the one who unsubscribed
    later_recipients = [message["To"] for message in _emails(mail_directory) if LATER_TEXT in _text_of(message)]
    assert sorted(later_recipients) == sorted(card.customer.email for card in cards[2:10:2])
