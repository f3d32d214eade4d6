"""Under the Content-Security-Policy, Chromium reports no violation and every page still works.

Each page is checked twice: the console has no "Refused to …" message about the
policy, and what the blocked code would have done is visibly there (the
program's colours, the dashboard's layout, the live colour preview, Swagger
UI's list of operations).
"""

import pytest
from selenium.webdriver.common.by import By
from selenium.webdriver.support.ui import WebDriverWait

from loyalty.models import Program
from staff.services.memberships import membership_groups_sync
from tests import factories
from tests.browser.conftest import csp_violations, wait_for

# serialized_rollback: the owner needs the groups made by migrations, which a
# transactional test's flush removes.
pytestmark = pytest.mark.django_db(transaction=True, serialized_rollback=True)

BROWN = "rgb(91, 58, 41)"  # #5B3A29, the program's background colour


@pytest.fixture
def shop(settings):
    settings.DEBUG = False  # the site's own 404 page, as in production
    settings.PASSWORD_HASHERS = ["django.contrib.auth.hashers.MD5PasswordHasher"]
    merchant = factories.make_merchant("Demo Café")
    store = factories.make_store(merchant, code="demo-center", name="Demo Café — Centre")
    program = factories.make_program(merchant, name="Demo Café Card", background_color="#5B3A29", text_color="#FFFFFF")
    factories.make_reward(program, "Croissant", 100)
    card = factories.make_card(store, email="lea.muller@example.com")
    owner = factories.make_user(role="owner", merchant=merchant, stores=[store], username="cafe-owner")
    membership_groups_sync(membership=owner.membership)
    platform_admin = factories.make_admin()
    return {"store": store, "program": program, "card": card, "owner": owner, "platform_admin": platform_admin}


def page_policy(driver) -> str | None:
    """The Content-Security-Policy header of the page now shown (fetched again: a GET has no side effect)."""
    return driver.execute_script(
        "return fetch(location.href, {credentials: 'same-origin', headers: {Accept: 'text/html'}})"
        ".then(function (response) { return response.headers.get('Content-Security-Policy'); });"
    )


def open_page(driver, url: str, ready_css: str) -> None:
    driver.get(url)
    wait_for(driver, ready_css)
    policy = page_policy(driver)
    assert policy and "'nonce-" in policy and "unsafe-inline" not in policy, url


def computed(driver, css: str, property_name: str) -> str:
    return driver.execute_script(
        "return getComputedStyle(document.querySelector(arguments[0])).getPropertyValue(arguments[1]);",
        css,
        property_name,
    )


def test_the_console_reports_a_violation_when_there_is_one(browser, live_server, shop):
    # A guard on the detector itself: markup with a style attribute, added after load, is refused and reported.
    open_page(browser, f"{live_server.url}/join/demo-center/", "header.brand")
    csp_violations(browser)
    browser.execute_script("document.body.insertAdjacentHTML('beforeend', '<p id=\"x\" style=\"color: red\">x</p>');")
    WebDriverWait(browser, 5).until(lambda driver: any("inline style" in message for message in csp_violations(driver)))


def test_customer_pages(browser, live_server, shop):
    for path in ("/join/demo-center/", "/fr/join/demo-center/poster/", f"/card/{shop['card'].public_token}/"):
        open_page(browser, live_server.url + path, "header.brand")
        assert computed(browser, "header.brand", "background-color") == BROWN, path  # the nonce'd <style> applied
        assert csp_violations(browser) == [], path

    browser.get(f"{live_server.url}/card/no-such-token/")
    wait_for(browser, "header.brand")
    assert "Page not found" in browser.find_element(By.TAG_NAME, "h1").text
    assert csp_violations(browser) == []


def test_enrolling_in_a_browser_under_the_policy(browser, live_server, shop):
    open_page(browser, f"{live_server.url}/join/demo-center/", "form")
    browser.find_element(By.ID, "id_email").send_keys("tom.schmit@example.com")
    browser.find_element(By.ID, "id_full_name").send_keys("Tom Schmit")
    browser.find_element(By.ID, "id_accept_terms").click()
    browser.find_element(By.CSS_SELECTOR, "button.primary").click()  # form-action 'self', then a redirect
    wait_for(browser, "svg.qr")
    assert "/card/" in browser.current_url
    assert csp_violations(browser) == []


def _log_in(browser, live_server, username="cafe-owner"):
    open_page(browser, f"{live_server.url}/admin/login/?next=/admin/", "input[name=username]")
    browser.find_element(By.NAME, "username").send_keys(username)
    browser.find_element(By.NAME, "password").send_keys(factories.PASSWORD)
    browser.find_element(By.CSS_SELECTOR, "input[type=submit]").click()
    wait_for(browser, "#bo-dashboard")


def test_back_office_dashboard_lists_and_forms(browser, live_server, shop):
    _log_in(browser, live_server)
    open_page(browser, f"{live_server.url}/admin/", "#bo-dashboard")
    assert len(browser.find_elements(By.CSS_SELECTOR, "svg.bo-chart")) == 3
    assert computed(browser, ".bo-figure", "border-top-left-radius") == "6px"  # back_office.css applied
    assert csp_violations(browser) == []

    # A changelist with its actions bar (actions.js), then the card page with its action buttons.
    open_page(browser, f"{live_server.url}/admin/loyalty/loyaltycard/", "#changelist-form")
    browser.find_element(By.CSS_SELECTOR, "#action-toggle").click()
    assert browser.find_element(By.CSS_SELECTOR, ".action-counter").text.startswith("1 of 1")
    assert csp_violations(browser) == []
    open_page(browser, f"{live_server.url}/admin/loyalty/loyaltycard/{shop['card'].pk}/change/", ".bo-inline-action")
    assert computed(browser, ".bo-inline-action", "display") == "inline"
    assert csp_violations(browser) == []


def test_program_colour_preview_still_follows_the_inputs(browser, live_server, shop):
    _log_in(browser, live_server)
    open_page(browser, f"{live_server.url}/admin/loyalty/program/{shop['program'].pk}/change/", "#bo-card-preview")
    WebDriverWait(browser, 5).until(lambda driver: computed(driver, "#bo-card-preview", "background-color") == BROWN)
    assert computed(browser, "#bo-card-preview", "color") == "rgb(255, 255, 255)"

    browser.execute_script(
        "var input = document.querySelector('[data-preview=background]');"
        "input.value = '#112233'; input.dispatchEvent(new Event('input'));"
    )
    assert computed(browser, "#bo-card-preview", "background-color") == "rgb(17, 34, 51)"
    name = browser.find_element(By.ID, "id_name")
    name.clear()
    name.send_keys("Renamed Card")
    assert browser.find_element(By.CSS_SELECTOR, "[data-preview-name]").text == "Renamed Card"
    assert csp_violations(browser) == []
    assert Program.objects.get(pk=shop["program"].pk).background_color == "#5B3A29"  # nothing saved


def test_platform_admin_dashboard_and_the_periodic_task_form(browser, live_server, shop):
    _log_in(browser, live_server, username=shop["platform_admin"].username)
    open_page(browser, f"{live_server.url}/admin/", "#bo-merchant-table")
    assert csp_violations(browser) == []
    # django-celery-beat's form, whose inline script carries our nonce (templates/admin/djcelery/): it ran.
    open_page(browser, f"{live_server.url}/admin/django_celery_beat/periodictask/add/", "#id_crontab")
    assert not browser.find_element(By.CSS_SELECTOR, ".field-crontab_translation").is_displayed()
    assert csp_violations(browser) == []


def test_card_import_pages(browser, live_server, shop, tmp_path):
    _log_in(browser, live_server)
    upload = tmp_path / "cards.csv"
    upload.write_text("email;name;stamps;points;card_number\npaper.one@example.com;Paper One;3;120;\nbad;x;1;1;\n")
    open_page(browser, f"{live_server.url}/admin/loyalty/loyaltycard/import/", "input[type=file]")
    browser.find_element(By.CSS_SELECTOR, "input[type=file]").send_keys(str(upload))
    browser.find_element(By.CSS_SELECTOR, "input[type=submit]").click()
    wait_for(browser, "#bo-import-preview")
    assert computed(browser, ".bo-error", "color") == "rgb(186, 33, 33)"
    assert csp_violations(browser) == []
    browser.find_element(By.CSS_SELECTOR, ".submit-row input[type=submit]").click()
    wait_for(browser, "#bo-import-bar")
    assert browser.find_element(By.ID, "bo-import-status").text == "done"
    assert csp_violations(browser) == []


def test_swagger_ui_renders_the_operations(browser, live_server, shop):
    open_page(browser, f"{live_server.url}/api/docs", "#swagger-ui")
    wait_for(browser, ".opblock", timeout=20)
    assert len(browser.find_elements(By.CSS_SELECTOR, ".opblock")) > 20
    browser.find_element(By.CSS_SELECTOR, ".opblock-summary").click()  # an operation opens
    wait_for(browser, ".opblock-body")
    assert csp_violations(browser) == []
