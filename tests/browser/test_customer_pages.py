"""A customer enrolls in a real browser, in French, and sees their card."""

import pytest
from selenium.webdriver.common.by import By
from selenium.webdriver.common.keys import Keys
from selenium.webdriver.support.ui import Select

from loyalty.models import Customer, LoyaltyCard
from tests import factories
from tests.browser.conftest import browser_viewport, wait_for

# serialized_rollback, like every browser test: a plain transactional flush re-creates the content
# types under new ids, and the next serialized_rollback test then fails to load its own copy.
pytestmark = pytest.mark.django_db(transaction=True, serialized_rollback=True)


def assert_fits_width(driver, width):
    """Readable at a small phone's width: nothing forces sideways scrolling."""
    browser_viewport(driver, width, 640)
    assert driver.execute_script("return document.documentElement.scrollWidth") <= width


@pytest.fixture
def demo_store(transactional_db):
    merchant = factories.make_merchant("Demo Café")
    store = factories.make_store(merchant, code="demo-center", name="Demo Café — Centre")
    program = factories.make_program(
        merchant,
        name="Demo Café Card",
        background_color="#5B3A29",
        text_color="#FFFFFF",
        terms_text="One stamp per hot drink.",
        privacy_url="https://example.com/privacy",
    )
    factories.make_reward(program, "Croissant", 100)
    factories.make_reward(program, "Cappuccino", 250)
    return store


def test_enroll_in_french_and_see_the_card(browser, live_server, screenshot, demo_store):
    # given: a phone opening the French join page
    browser_viewport(browser, 360, 740)
    browser.get(f"{live_server.url}/fr/join/demo-center/")
    assert browser.find_element(By.TAG_NAME, "html").get_attribute("lang") == "fr"
    assert "Obtenez votre carte de fidélité" in browser.find_element(By.TAG_NAME, "h1").text
    screenshot("join-fr-360x740")
    screenshot("join-fr-1280x800", 1280, 800)
    assert_fits_width(browser, 320)
    browser_viewport(browser, 360, 740)

    # when: the form is filled in and sent
    browser.find_element(By.ID, "id_email").send_keys("lea.muller@example.com")
    browser.find_element(By.ID, "id_full_name").send_keys("Léa Muller")
    language = Select(browser.find_element(By.ID, "id_preferred_language")).first_selected_option
    assert language.get_attribute("value") == "fr"
    browser.find_element(By.ID, "id_accept_terms").click()
    browser.find_element(By.CSS_SELECTOR, "button.primary").click()

    # then: the card page, in French, with the QR code and an empty stamp row
    wait_for(browser, "svg.qr")
    card = LoyaltyCard.objects.get(customer__email="lea.muller@example.com")
    assert browser.current_url == f"{live_server.url}/fr/card/{card.public_token}/"
    assert browser.find_element(By.CSS_SELECTOR, ".stamp-count").text == "0 / 10"
    assert len(browser.find_elements(By.CSS_SELECTOR, ".stamps li.empty")) == 10
    assert browser.find_element(By.CSS_SELECTOR, "svg.qr").get_attribute("role") == "img"
    assert "Votre carte a été créée." in browser.find_element(By.CSS_SELECTOR, ".activity").text
    assert Customer.objects.get(email="lea.muller@example.com").preferred_language == "fr"
    screenshot("card-fr-360x740")
    browser.execute_script("window.scrollTo(0, document.body.scrollHeight)")
    screenshot("card-fr-360x740-bottom")
    browser.execute_script("window.scrollTo(0, 0)")
    screenshot("card-fr-1280x800", 1280, 800)
    assert_fits_width(browser, 320)


def test_form_errors_come_back_in_the_chosen_language_with_the_values_kept(
    browser, live_server, screenshot, demo_store
):
    browser_viewport(browser, 360, 740)
    browser.get(f"{live_server.url}/join/demo-center/")
    browser.find_element(By.ID, "id_email").send_keys("anna.weber@example.com")
    Select(browser.find_element(By.ID, "id_preferred_language")).select_by_value("de")
    browser.find_element(By.CSS_SELECTOR, "button.primary").click()  # no name, terms not accepted

    wait_for(browser, ".error-summary")
    assert browser.find_element(By.TAG_NAME, "html").get_attribute("lang") == "de"
    assert "Bitte akzeptieren Sie die Bedingungen" in browser.find_element(By.ID, "id_accept_terms_error").text
    assert browser.find_element(By.ID, "id_email").get_attribute("value") == "anna.weber@example.com"
    assert browser.find_element(By.ID, "id_full_name").get_attribute("aria-invalid") == "true"
    assert not Customer.objects.exists()
    browser.execute_script("document.querySelector('.join').scrollIntoView()")
    screenshot("join-errors-de-360x740")
    assert_fits_width(browser, 320)


def test_the_form_works_with_the_keyboard_alone(browser, live_server, demo_store):
    browser.get(f"{live_server.url}/lb/join/demo-center/")
    email = browser.find_element(By.ID, "id_email")
    email.send_keys("tom.schmit@example.com", Keys.TAB, "Tom Schmit", Keys.TAB, Keys.TAB)
    focused = browser.switch_to.active_element
    assert focused.get_attribute("id") == "id_preferred_language"
    # The optional birthday, day then month, left empty.
    focused.send_keys(Keys.TAB)
    assert browser.switch_to.active_element.get_attribute("id") == "id_birthday_day"
    browser.switch_to.active_element.send_keys(Keys.TAB)
    focused = browser.switch_to.active_element
    assert focused.get_attribute("id") == "id_birthday_month"
    # Past the terms' <details> and the privacy link to the checkbox, then the marketing box, then submit.
    focused.send_keys(Keys.TAB, Keys.TAB, Keys.TAB)
    assert browser.switch_to.active_element.get_attribute("id") == "id_accept_terms"
    browser.switch_to.active_element.send_keys(Keys.SPACE, Keys.TAB, Keys.TAB)
    submit = browser.switch_to.active_element
    assert submit.get_attribute("type") == "submit"  # the honeypot is skipped
    submit.send_keys(Keys.ENTER)

    wait_for(browser, "svg.qr")
    assert "/lb/card/" in browser.current_url
    assert browser.find_element(By.TAG_NAME, "html").get_attribute("lang") == "lb"
