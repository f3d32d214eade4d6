"""A real browser in the back office: the demo owner logs in, sees the dashboard, opens a card and a campaign."""

import pytest
from django.contrib.auth import get_user_model
from django.core.management import call_command

from loyalty.models import LoyaltyCard
from tests.browser.conftest import wait_for
from tests.wallet.apple.conftest import _apns_server, apns_server, apple_settings, dev_certificates  # noqa: F401
from tests.wallet.google.conftest import (  # noqa: F401
    fake_google,
    google_wallet,
    service_account_file,
    service_account_key,
)

# serialized_rollback: the live server needs a transactional database, and the
# flush afterwards must give the next tests back the groups made by migrations.
pytestmark = [pytest.mark.browser, pytest.mark.django_db(transaction=True, serialized_rollback=True)]


def test_demo_owner_dashboard_and_card_in_chromium(live_server, browser, screenshot, settings):
    from selenium.webdriver.common.by import By

    settings.DEBUG = True
    call_command("loyalty_demo", verbosity=0)
    browser.get(f"{live_server.url}/admin/login/?next=/admin/")
    browser.find_element(By.NAME, "username").send_keys("cafe-owner")
    browser.find_element(By.NAME, "password").send_keys("owner-demo-2026")
    browser.find_element(By.CSS_SELECTOR, "input[type=submit]").click()
    wait_for(browser, "#bo-dashboard")
    charts = browser.find_elements(By.CSS_SELECTOR, "svg.bo-chart")
    assert len(charts) == 3 and all(chart.size["width"] > 200 for chart in charts)
    assert "Other Bakery" not in browser.page_source
    assert screenshot("admin-dashboard-owner", 1280, 1000).stat().st_size > 10_000

    card = LoyaltyCard.objects.filter(merchant__slug="demo-cafe").order_by("-points_balance").first()
    browser.get(f"{live_server.url}/admin/loyalty/loyaltycard/")
    browser.find_element(By.LINK_TEXT, card.card_number).click()
    wait_for(browser, "#transactions-group, .inline-group")
    assert card.card_number in browser.page_source
    assert "Adjust points" in browser.page_source
    assert screenshot("admin-card-owner", 1280, 1000).stat().st_size > 10_000


def test_a_sent_campaign_shows_its_deliveries_per_channel_in_chromium(
    live_server, browser, screenshot, settings, apns_server, google_wallet, django_capture_on_commit_callbacks
):
    """The campaign page of the README: the demo café's "all cards" campaign, sent to e-mail and both wallets."""
    from selenium.webdriver.common.by import By

    from loyalty.domain.actors import Actor, Channel
    from django.utils import timezone

    from loyalty.models import Customer, Merchant
    from loyalty.services.campaigns import campaign_create, campaign_schedule
    from wallet.apple.services import apple_pass_get_or_create, device_register
    from wallet.google.services import google_save_url

    settings.DEBUG = True
    settings.LOYALTY_CAMPAIGN_WINDOW_START_HOUR = 0
    settings.LOYALTY_CAMPAIGN_WINDOW_END_HOUR = 24
    call_command("loyalty_demo", verbosity=0)
    merchant = Merchant.objects.get(slug="demo-cafe")
    cards = list(LoyaltyCard.objects.filter(merchant=merchant, is_active=True).order_by("pk"))
    for card in cards[::2]:  # every other card's pass is on an iPhone, every third card in Google Wallet
        device_register(
            apple_pass=apple_pass_get_or_create(card=card), device_library_identifier=f"phone-{card.pk}",
            push_token=f"push-{card.pk}",
        )  # fmt: skip
    for card in cards[::3]:
        google_save_url(card=card)
    consenting = [card.customer_id for card in cards[1::2]]  # as if they had ticked the box when joining
    Customer.objects.filter(pk__in=consenting).update(marketing_consent=True, marketing_consent_at=timezone.now())
    owner = get_user_model().objects.get(username="cafe-owner")
    actor = Actor(merchant=merchant, user=owner, role="owner", channel=Channel.ADMIN)
    campaign = campaign_create(
        actor=actor,
        text_en="Fresh apple pie this Saturday — come and try it!",
        text_fr="Tarte aux pommes fraîche ce samedi — venez la goûter !",
        text_de="Frischer Apfelkuchen an diesem Samstag — kommt probieren!",
        link_url="https://demo-cafe.example/pie",
    )
    with django_capture_on_commit_callbacks(execute=True):
        campaign_schedule(actor=actor, campaign_id=campaign.pk)

    browser.get(f"{live_server.url}/admin/login/?next=/admin/loyalty/campaign/{campaign.pk}/change/")
    browser.find_element(By.NAME, "username").send_keys("cafe-owner")
    browser.find_element(By.NAME, "password").send_keys("owner-demo-2026")
    browser.find_element(By.CSS_SELECTOR, "input[type=submit]").click()
    wait_for(browser, ".field-delivery_summary")
    summary = browser.find_element(By.CSS_SELECTOR, ".field-delivery_summary").text
    assert f"Apple Wallet: Sent {len(cards[::2])}" in summary
    assert f"Google Wallet: Sent {len(cards[::3])}" in summary
    assert f"E-mail: Sent {len(consenting)}, Skipped {len(cards) - len(consenting)}" in summary
    assert [call.path.split("/")[0] for call in google_wallet.message_calls()] == ["loyaltyClass"]
    assert screenshot("admin-campaign-owner", 1100, 1480).stat().st_size > 10_000
