"""A real browser in the back office: the demo owner logs in, sees the dashboard, opens a card."""

import pytest
from django.core.management import call_command

from loyalty.models import LoyaltyCard
from tests.browser.conftest import wait_for

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
