"""Section 7 of the bench: a campaign to 100,000 cards of the data set — the Celery work's time and memory.

Issue #16 wants the Celery work for a campaign to 100,000 cards under 60 s
on this machine: writing the delivery rows (e-mail for every card, Google for
the cards saved to Google Wallet) and the one Google class message of an
"all cards" campaign. The biggest merchant of the million-row data set gets
cards added (bulk, once: a re-run finds them) until it has 100,000 active
cards; one card in ten is saved to Google Wallet (its object written as the
save link leaves it). Google is the local stand-in of the tests
(``tests/wallet/google/fake_google.py``), a real HTTP server with OAuth.

Measured in a fresh process (``python -m bench.campaigns --child``, the
bench's environment inherited) so the peak RSS (``VmHWM``) is the campaign's
own: it starts the campaign the way the task does and times the two stages
of ``loyalty.services.campaigns.campaign_send`` the target names — the
delivery rows, then Google — in batches of ``LOYALTY_CAMPAIGN_BATCH_SIZE``.
E-mail and APNs are left out of the figure: their time is the mail server's
and Apple's (the tests cover them). The campaign is then taken out of the
data set (deleted with its rows) so a re-run (``--reuse``) measures the same thing again.
"""

from __future__ import annotations

import json
import os
import subprocess
import sys
import time
from pathlib import Path

from bench.export_memory import peak_rss_mb, rss_mb
from bench.report import Figure

SECTION = "Campaigns"
CARDS = 100_000
GOOGLE_SHARE = 10  # one card in ten is in Google Wallet
TARGET_SECONDS = 60
TIMEOUT_SECONDS = 600


def run() -> list[Figure]:
    finished = subprocess.run(
        [sys.executable, "-m", "bench.campaigns", "--child"],
        check=False, capture_output=True, text=True, timeout=TIMEOUT_SECONDS, env=os.environ.copy(),
        cwd=Path(__file__).resolve().parent.parent,
    )  # fmt: skip
    if finished.returncode != 0:
        raise RuntimeError(f"bench: the campaign probe failed:\n{finished.stderr[-3000:]}")
    result = json.loads(finished.stdout.strip().splitlines()[-1])
    complete = result["email_rows"] == result["cards"] and result["google_rows_sent"] == result["google_cards"]
    detail = (
        f"{result['cards']:,} cards: rows {result['rows_seconds']:.1f} s "
        f"({result['email_rows'] + result['google_rows']:,} rows), "
        f"Google class message {result['google_seconds']:.2f} s "
        f"({result['google_calls']} addMessage call, {result['google_rows_sent']:,} Google rows sent); "
        f"peak RSS {result['peak_mb']:.0f} MB (baseline {result['baseline_mb']:.0f} MB); "
        f"{result['cards_added']:,} cards added to the data set for it"
    )
    if not complete:
        detail += "; **rows missing**"
    figure = Figure.under(
        SECTION, f"campaign to {result['cards']:,} cards: delivery rows + Google class message", result["seconds"],
        "s", TARGET_SECONDS, detail, **result,
    )  # fmt: skip
    figure.passed = figure.passed and complete
    memory = Figure(SECTION, "campaign to 100,000 cards: peak RSS of the work", result["peak_mb"], "MB", detail="")
    return [figure, memory]


# --- The child process ----------------------------------------------------------------------------------------


def _biggest_merchant():
    from django.db.models import Count

    from loyalty.models import LoyaltyCard, Merchant

    top = (
        LoyaltyCard.objects.filter(is_active=True)
        .values("merchant_id")
        .annotate(cards=Count("id"))
        .order_by("-cards")
        .first()
    )
    return Merchant.objects.get(pk=top["merchant_id"])


def _cards_add(merchant, count: int) -> int:
    """``count`` more customers with a card each at the merchant's program (bulk; every third one consenting)."""
    from django.utils import timezone

    from loyalty.domain.identifiers import new_card_number, new_secret_token
    from loyalty.models import Customer, LoyaltyCard, Program, Store

    if count <= 0:
        return 0
    program = Program.objects.for_merchant(merchant).first()
    store = Store.objects.for_merchant(merchant).order_by("pk").first()
    now = timezone.now()
    start = Customer.objects.filter(merchant=merchant).count()
    for offset in range(0, count, 5000):
        size = min(5000, count - offset)
        customers = Customer.objects.bulk_create(
            Customer(
                merchant=merchant, email=f"campaign-bench-{start + offset + index}@example.com",
                full_name="Bench Holder", marketing_consent=index % 3 == 0,
                marketing_consent_at=now if index % 3 == 0 else None, terms_accepted_at=now,
            )
            for index in range(size)
        )  # fmt: skip
        LoyaltyCard.objects.bulk_create(
            LoyaltyCard(
                merchant=merchant, program=program, customer=customer, enrolled_store=store,
                card_number=new_card_number(), qr_code_data=new_secret_token(), public_token=new_secret_token(),
            )
            for customer in customers
        )  # fmt: skip
    return count


def _google_objects(merchant, wallet, config) -> int:
    """One active card of the merchant in ten saved to Google Wallet (once: a re-run finds them), and the class."""
    from django.utils import timezone

    from loyalty.models import LoyaltyCard, Program
    from wallet.google import payloads
    from wallet.models import GoogleWalletClass, GoogleWalletObject

    program = Program.objects.for_merchant(merchant).first()
    class_id = payloads.class_id_for(program, config)
    GoogleWalletClass.objects.get_or_create(program=program, defaults={"class_id": class_id})
    wallet.resources[f"loyaltyClass/{class_id}"] = {"id": class_id, **payloads.class_payload(program, config)}
    now = timezone.now()
    wanted = CARDS // GOOGLE_SHARE - GoogleWalletObject.objects.filter(card__merchant=merchant).count()
    card_ids = list(
        LoyaltyCard.objects.filter(merchant=merchant, is_active=True, google_object__isnull=True)
        .order_by("pk")
        .values_list("pk", flat=True)[::GOOGLE_SHARE]
    )[: max(wanted, 0)]
    prefix = payloads.object_id_for(LoyaltyCard(pk=0), config).removesuffix("0")
    GoogleWalletObject.objects.bulk_create(
        (GoogleWalletObject(card_id=card_id, object_id=f"{prefix}{card_id}", synced_at=now) for card_id in card_ids),
        batch_size=5000,
        ignore_conflicts=True,
    )
    return GoogleWalletObject.objects.filter(card__merchant=merchant).count()


def _google_stand_in(directory: Path):
    from django.conf import settings

    from tests.wallet.google.fake_google import ISSUER_ID, new_service_account_key, service_account_info, start_server

    key = new_service_account_key()
    wallet, server = start_server(key.certificate_pem)
    key_file = directory / "campaign-bench-google-key.json"
    key_file.write_text(json.dumps(service_account_info(key, wallet.url + "/token")))
    settings.LOYALTY_GOOGLE_ISSUER_ID = ISSUER_ID
    settings.LOYALTY_GOOGLE_SERVICE_ACCOUNT_JSON = str(key_file)
    settings.LOYALTY_GOOGLE_API_BASE = wallet.url + "/walletobjects/v1"
    settings.LOYALTY_APPLE_PASS_TYPE_ID = ""  # Apple is left out of the figure
    return wallet, server


def campaign_measure(directory: Path) -> dict:
    from django.conf import settings
    from django.db.models import Count
    from django.utils import timezone

    from loyalty.domain.actors import Actor, Channel
    from loyalty.models import Campaign, CampaignDelivery, CampaignStatus, LoyaltyCard
    from loyalty.services import campaigns
    from wallet.google.config import config_get

    wallet, server = _google_stand_in(directory)
    merchant = _biggest_merchant()
    active = LoyaltyCard.objects.filter(merchant=merchant, is_active=True).count()
    added = _cards_add(merchant, CARDS - active)
    google_cards = _google_objects(merchant, wallet, config_get())
    settings.LOYALTY_CAMPAIGN_WINDOW_START_HOUR, settings.LOYALTY_CAMPAIGN_WINDOW_END_HOUR = 0, 24
    settings.LOYALTY_CAMPAIGNS_PER_DAY = 1000
    actor = Actor(merchant=merchant, role="owner", channel=Channel.ADMIN)
    campaign = campaigns.campaign_create(actor=actor, text_en="Fresh apple pie this Saturday — come and try it!")
    Campaign.objects.filter(pk=campaign.pk).update(status=CampaignStatus.SCHEDULED, scheduled_at=timezone.now())
    baseline = rss_mb()
    began = time.monotonic()
    campaign = campaigns._claim_start(campaign.pk, timezone.now())  # what campaign_send does, stage by stage
    cards = campaigns._write_delivery_rows(
        campaign, now=timezone.now(), batch_size=settings.LOYALTY_CAMPAIGN_BATCH_SIZE
    )
    rows_done = time.monotonic()
    campaigns._send_google(campaign, batch_size=settings.LOYALTY_CAMPAIGN_BATCH_SIZE)
    finished = time.monotonic()
    rows = dict(CampaignDelivery.objects.filter(campaign=campaign).values_list("channel").annotate(total=Count("id")))
    google_sent = CampaignDelivery.objects.filter(campaign=campaign, channel="google", status="sent").count()
    result = {
        "cards": cards,
        "cards_added": added,
        "google_cards": google_cards,
        "email_rows": rows.get("email", 0),
        "google_rows": rows.get("google", 0),
        "google_rows_sent": google_sent,
        "google_calls": len(wallet.message_calls()),
        "rows_seconds": round(rows_done - began, 2),
        "google_seconds": round(finished - rows_done, 2),
        "seconds": round(finished - began, 2),
        "baseline_mb": round(baseline, 1),
        "peak_mb": round(peak_rss_mb(), 1),
    }
    CampaignDelivery.objects.filter(campaign=campaign).delete()  # the data set as it was, for the next run
    Campaign.objects.filter(pk=campaign.pk).delete()
    server.shutdown()
    return result


def child(argv) -> int:
    import tempfile

    from bench import environment

    environment.setup_django()
    with tempfile.TemporaryDirectory() as directory:
        print(json.dumps(campaign_measure(Path(directory))))
    return 0


def main(argv=None) -> int:
    argv = sys.argv[1:] if argv is None else argv
    if "--child" in argv:
        return child(argv)
    from bench.dataset import section_main

    return section_main(
        argv, run=run, description="A campaign to 100,000 cards of the data set (made first if missing)."
    )


if __name__ == "__main__":
    sys.exit(main())
