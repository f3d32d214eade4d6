"""The till in a real Chromium, on the demo data, through the public store API only.

The camera test films a Y4M video made here from a card's real QR data with Chromium's fake camera:
the card opens from the picture alone. The others type like a USB scanner, search, lose an answer on
the way back (a proxy closes the connection after the server committed) and read the errors in French.
Screenshots at 360×740 and 1024×768 go to tests/artifacts/.
"""

import pytest
from django.conf import settings as django_settings
from django.core.management import call_command
from django.utils import timezone
from selenium.webdriver.common.by import By
from selenium.webdriver.common.keys import Keys
from selenium.webdriver.support.ui import Select, WebDriverWait

from loyalty.domain.actors import Actor, Channel
from loyalty.domain.cards import CardRef
from loyalty.models import LoyaltyCard, LoyaltyTransaction, Store, TransactionType
from loyalty.services.enrollment import customer_enroll
from loyalty.services.stamps import stamp_add
from staff.models import ApiToken
from tests.browser.conftest import ARTIFACTS_DIR, browser_viewport, csp_violations
from tests.till.support import LosingProxy, camera_video, chromium_with_camera

# serialized_rollback: the demo's users need the groups made by migrations, which a transactional test's flush removes.
pytestmark = pytest.mark.django_db(transaction=True, serialized_rollback=True)

STAFF = {"username": "cafe-staff", "password": "staff-demo-2026", "store_code": "demo-station"}
PIN = "5678"  # Sam's, at demo-station
EARN = "/api/v1/store/loyalty/points/earn"
SIZES = ((360, 740), (1024, 768))


@pytest.fixture
def demo(settings):
    """`make run`'s demo data, and a new customer's card of the demo program (no stamp yet)."""
    settings.PASSWORD_HASHERS = ["django.contrib.auth.hashers.MD5PasswordHasher"]
    call_command("loyalty_demo", force=True, stdout=open("/dev/null", "w"))
    store = Store.objects.get(code=STAFF["store_code"])
    actor = Actor(merchant=store.merchant, store=store, channel=Channel.SYSTEM)
    card = customer_enroll(
        actor=actor, email="nora.kieffer@example.com", full_name="Nora Kieffer", phone="+352 621 555 123"
    ).card
    return {"store": store, "card": card}


def visible(driver, css: str, timeout: float = 10):
    """Wait until an element matching ``css`` is displayed; return it."""

    def shown(driver):
        return next((element for element in driver.find_elements(By.CSS_SELECTOR, css) if element.is_displayed()), None)

    return WebDriverWait(driver, timeout).until(shown)


def text_of(driver, css: str, expected: str, timeout: float = 15) -> str:
    """Wait until the element's text contains ``expected``; return the text."""
    WebDriverWait(driver, timeout).until(lambda d: expected in d.find_element(By.CSS_SELECTOR, css).text)
    return driver.find_element(By.CSS_SELECTOR, css).text


def sign_in(driver, base_url: str) -> None:
    driver.get(f"{base_url}/till/")
    visible(driver, "#screen-sign-in")
    for name, value in (("sign-in-username", STAFF["username"]), ("sign-in-password", STAFF["password"])):
        driver.find_element(By.ID, name).send_keys(value)
    store = driver.find_element(By.ID, "sign-in-store")
    store.clear()
    store.send_keys(STAFF["store_code"] + Keys.ENTER)
    visible(driver, "#screen-find")
    # the program (does it want a PIN?) is read right after sign-in
    WebDriverWait(driver, 10).until(
        lambda d: d.execute_script(
            "return performance.getEntriesByType('resource').some(e => e.name.endsWith('/store/loyalty/program'))"
        )
    )


def wedge(driver, text: str) -> None:
    """Type like a USB scanner: into whatever has the focus (the scanner input), then Enter."""
    assert driver.switch_to.active_element.get_attribute("id") == "wedge-input"
    driver.switch_to.active_element.send_keys(text + Keys.ENTER)


def enter_pin(driver, pin: str = PIN) -> None:
    visible(driver, "#pin-dialog")
    for digit in pin:
        driver.find_element(By.CSS_SELECTOR, f'#pin-dialog [data-key="{digit}"]').click()
    driver.find_element(By.ID, "pin-ok").click()


def earn(driver, keys: list[str], reference: str = "") -> None:
    driver.find_element(By.ID, "action-earn").click()
    visible(driver, "#earn-dialog")
    for key in keys:
        driver.find_element(By.CSS_SELECTOR, f'#earn-dialog [data-key="{key}"]').click()
    if reference:
        driver.find_element(By.ID, "earn-reference").send_keys(reference)
    driver.find_element(By.ID, "earn-ok").click()


def rows(card: LoyaltyCard, kind: str) -> int:
    return LoyaltyTransaction.objects.filter(card=card, type=kind).count()


def shoot(driver, name: str) -> None:
    ARTIFACTS_DIR.mkdir(parents=True, exist_ok=True)
    for width, height in SIZES:
        browser_viewport(driver, width, height)
        driver.execute_script("return new Promise(requestAnimationFrame)")
        driver.save_screenshot(str(ARTIFACTS_DIR / f"till-{name}-{width}x{height}.png"))
    browser_viewport(driver, 1280, 800)


# --- The camera path ------------------------------------------------------------------------------------------------


def test_a_card_scanned_by_the_camera_gets_a_stamp_after_the_pin(chromium_executables, live_server, demo, tmp_path):
    card = demo["card"]
    video = camera_video(tmp_path / "card.y4m", card.qr_code_data)
    with chromium_with_camera(chromium_executables, tmp_path, video) as driver:
        sign_in(driver, live_server.url)
        driver.find_element(By.ID, "scan-start").click()

        # the card opens from the camera picture alone
        visible(driver, "#screen-card", timeout=20)
        assert driver.find_element(By.ID, "card-name").text == "Nora"
        assert driver.find_element(By.ID, "card-number").text.replace(" ", "") == card.card_number
        assert driver.find_element(By.ID, "stamps-count").text == "0 / 10"
        assert driver.execute_script("return document.getElementById('camera-video').srcObject") is None  # camera off

        driver.find_element(By.ID, "action-stamp").click()
        enter_pin(driver)

        assert text_of(driver, "#success", "Stamp 1 of 10") == "Stamp 1 of 10"
        assert text_of(driver, "#stamps-count", "1 / 10") == "1 / 10"
        assert len(driver.find_elements(By.CSS_SELECTOR, "#stamp-dots .dot.filled")) == 1
        assert "Next stamp at" in driver.find_element(By.ID, "stamp-state").text
        assert csp_violations(driver) == []
    assert rows(card, TransactionType.STAMP_EARNED) == 1
    assert LoyaltyTransaction.objects.get(card=card, type=TransactionType.STAMP_EARNED).staff_pin.name == "Sam (till 2)"


def test_screenshots_of_each_screen_at_phone_and_tablet_sizes(chromium_executables, live_server, demo, tmp_path):
    card = demo["card"]
    video = camera_video(tmp_path / "counter.y4m", None)  # the camera sees no code: the scan screen stays
    with chromium_with_camera(chromium_executables, tmp_path, video) as driver:
        driver.get(f"{live_server.url}/till/")
        visible(driver, "#screen-sign-in")
        shoot(driver, "sign-in")
        sign_in(driver, live_server.url)
        driver.find_element(By.ID, "scan-start").click()
        WebDriverWait(driver, 10).until(
            lambda d: d.execute_script("return document.getElementById('camera-video').readyState >= 2")
        )
        shoot(driver, "scan")
        for width, height in SIZES:  # nothing wider than the screen, every button at least 44 px
            browser_viewport(driver, width, height)
            assert driver.execute_script("return document.documentElement.scrollWidth") <= width
        driver.find_element(By.ID, "scan-stop").click()
        wedge(driver, card.card_number)
        visible(driver, "#screen-card")
        shoot(driver, "card")
        for width, height in SIZES:
            browser_viewport(driver, width, height)
            assert driver.execute_script("return document.documentElement.scrollWidth") <= width
            too_small = driver.execute_script(
                "return [...document.querySelectorAll('button, input, select')]"
                ".filter(e => e.offsetParent !== null)"
                ".filter(e => { const r = e.getBoundingClientRect(); return r.height < 44 || r.width < 44; })"
                ".map(e => e.id || e.textContent.trim());"
            )
            assert too_small == [], (width, too_small)
        browser_viewport(driver, 1280, 800)
        driver.find_element(By.ID, "action-stamp").click()
        visible(driver, "#pin-dialog")
        for digit in PIN[:2]:
            driver.find_element(By.CSS_SELECTOR, f'#pin-dialog [data-key="{digit}"]').click()
        shoot(driver, "pin-pad")
        for digit in PIN[2:]:
            driver.find_element(By.CSS_SELECTOR, f'#pin-dialog [data-key="{digit}"]').click()
        driver.find_element(By.ID, "pin-ok").click()
        text_of(driver, "#success", "Stamp 1 of 10")
        shoot(driver, "success")
        assert csp_violations(driver) == []
    for name in ("sign-in", "scan", "card", "pin-pad", "success"):
        for width, height in SIZES:
            assert (ARTIFACTS_DIR / f"till-{name}-{width}x{height}.png").stat().st_size > 5000


# --- Keyboard scanner, typed number, search -------------------------------------------------------------------------


def test_a_keyboard_scanner_opens_the_card_and_a_mistyped_number_never_leaves_the_till(browser, live_server, demo):
    card = demo["card"]
    sign_in(browser, live_server.url)

    wrong = card.card_number[:-1] + str((int(card.card_number[-1]) + 1) % 10)
    lookups = "return performance.getEntriesByType('resource').filter(e => e.name.includes('/cards/lookup')).length"
    wedge(browser, wrong)
    assert "not valid" in text_of(browser, "#status", "not valid")
    assert browser.execute_script(lookups) == 0  # refused before any request

    wedge(browser, card.qr_code_data)  # what a scanner types from the QR code; it replaces the refused text
    visible(browser, "#screen-card")
    assert browser.find_element(By.ID, "card-name").text == "Nora"

    # on the card screen the scanner input still has the focus: the next customer's card opens at once
    other = LoyaltyCard.objects.exclude(pk=card.pk).filter(program=card.program).order_by("pk").first()
    wedge(browser, other.card_number)
    text_of(browser, "#card-number", other.card_number[:4])
    assert browser.find_element(By.ID, "card-number").text.replace(" ", "") == other.card_number
    assert csp_violations(browser) == []


def test_search_by_name_or_phone_then_sign_out_revokes_the_token(browser, live_server, demo):
    sign_in(browser, live_server.url)
    search = browser.find_element(By.ID, "search-input")
    search.send_keys("621 555" + Keys.ENTER)
    result = visible(browser, "#search-results .result")
    assert "Nora Kieffer" in result.text and "nora.kieffer@example.com" in result.text
    result.click()
    visible(browser, "#screen-card")
    assert browser.find_element(By.ID, "card-name").text == "Nora"
    history = browser.find_element(By.ID, "history").text
    assert "Card enrolled" in history

    token = ApiToken.objects.get(revoked_at__isnull=True, user__username=STAFF["username"])
    assert browser.execute_script("return JSON.parse(localStorage.getItem('till.session')).token")
    browser.find_element(By.ID, "sign-out").click()
    visible(browser, "#screen-sign-in")
    token.refresh_from_db()
    assert token.revoked_at is not None
    assert browser.execute_script("return localStorage.getItem('till.session')") is None
    assert browser.find_element(By.ID, "sign-in-store").get_attribute("value") == "demo-station"  # remembered


def test_a_revoked_token_sends_the_till_back_to_sign_in(browser, live_server, demo):
    sign_in(browser, live_server.url)
    ApiToken.objects.filter(user__username=STAFF["username"]).update(revoked_at=timezone.now())
    wedge(browser, demo["card"].card_number)
    visible(browser, "#screen-sign-in")
    assert "sign in again" in browser.find_element(By.ID, "sign-in-error").text
    assert browser.execute_script("return localStorage.getItem('till.session')") is None


# --- Lost answers ---------------------------------------------------------------------------------------------------


def _earn_with_a_lost_answer(driver, proxy, demo, *, reference: str):
    card = demo["card"]
    sign_in(driver, proxy.url)
    wedge(driver, card.card_number)
    visible(driver, "#screen-card")
    proxy.lose_next("POST", EARN)
    earn(driver, ["1", "2", "decimal", "5"], reference=reference)  # 12.50 €
    enter_pin(driver)
    return text_of(driver, "#success", "+125 points", timeout=30)


def test_an_earn_whose_answer_is_lost_is_sent_again_with_the_same_key_and_counted_once(browser, live_server, demo):
    card = demo["card"]
    with LosingProxy(live_server.url) as proxy:
        _earn_with_a_lost_answer(browser, proxy, demo, reference="POS-4711")
        sent = proxy.sent("POST", EARN)

    # the second answer is the order reference's replay (200), or the Idempotency-Key's replay of the first (201)
    assert [lost for *_request, lost in sent] == [True, False]
    assert sent[0][3] == 201 and sent[1][3] in (200, 201)
    assert sent[0][2] and sent[0][2] == sent[1][2]  # one Idempotency-Key for both sendings
    assert rows(card, TransactionType.POINTS_EARNED) == 1
    card.refresh_from_db()
    assert card.points_balance == 125
    assert "1,250" not in browser.find_element(By.ID, "points-balance").text


def test_an_earn_without_order_reference_whose_answer_is_lost_is_counted_once(browser, live_server, demo):
    card = demo["card"]
    with LosingProxy(live_server.url) as proxy:
        _earn_with_a_lost_answer(browser, proxy, demo, reference="")
        sent = proxy.sent("POST", EARN)

    assert len(sent) == 2 and sent[0][4] and sent[0][2] == sent[1][2]
    assert rows(card, TransactionType.POINTS_EARNED) == 1
    card.refresh_from_db()
    assert card.points_balance == 125


def test_a_stamp_refused_with_503_is_sent_again_by_itself(browser, live_server, demo):
    card = demo["card"]
    stamp = "/api/v1/store/loyalty/stamp"
    with LosingProxy(live_server.url) as proxy:
        sign_in(browser, proxy.url)
        wedge(browser, card.card_number)
        visible(browser, "#screen-card")
        proxy.refuse_next("POST", stamp, count=2)
        browser.find_element(By.ID, "action-stamp").click()
        enter_pin(browser)
        text_of(browser, "#success", "Stamp 1 of 10", timeout=30)
        sent = proxy.sent("POST", stamp)

    assert [status for _method, _path, _key, status, _lost in sent] == [503, 503, 201]
    assert len({key for _method, _path, key, _status, _lost in sent}) == 1
    assert rows(card, TransactionType.STAMP_EARNED) == 1
    assert not browser.find_element(By.ID, "gave-up").is_displayed()


def test_when_every_answer_is_lost_the_till_says_it_may_not_be_recorded(browser, live_server, demo):
    card = demo["card"]
    with LosingProxy(live_server.url) as proxy:
        sign_in(browser, proxy.url)
        wedge(browser, card.card_number)
        visible(browser, "#screen-card")
        proxy.lose_next("POST", "/api/v1/store/loyalty/stamp", count=10)
        browser.find_element(By.ID, "action-stamp").click()
        enter_pin(browser)
        visible(browser, "#sending")
        message = text_of(browser, "#gave-up", "may not have been recorded", timeout=40)
        sent = proxy.sent("POST", "/api/v1/store/loyalty/stamp")
        assert "Check the card" in message
        assert len(sent) == 5 and len({key for _m, _p, key, _s, _l in sent}) == 1  # bounded, one key

        browser.find_element(By.ID, "check-card").click()  # reload: the truth from the server
        text_of(browser, "#stamps-count", "1 / 10")
    assert rows(card, TransactionType.STAMP_EARNED) == 1  # the first sending counted; the cooldown refused the rest


# --- Errors in French -----------------------------------------------------------------------------------------------


def test_cooldown_wrong_pin_and_locked_pin_in_french(browser, live_server, demo, settings):
    settings.LOYALTY_PIN_MAX_FAILED_ATTEMPTS = 3
    card = demo["card"]
    browser.get(f"{live_server.url}/till/")
    visible(browser, "#screen-sign-in")
    browser.find_element(By.CSS_SELECTOR, '#language option[value="fr"]').click()
    WebDriverWait(browser, 10).until(lambda d: d.find_element(By.TAG_NAME, "html").get_attribute("lang") == "fr")
    assert browser.get_cookie(django_settings.LANGUAGE_COOKIE_NAME)["value"] == "fr"
    sign_in(browser, live_server.url)
    assert browser.find_element(By.ID, "find-title").text == "Trouver une carte"
    wedge(browser, card.card_number)
    visible(browser, "#screen-card")

    # another till stamps the card meanwhile: this one hears the cooldown from the API
    store = demo["store"]
    elsewhere = Actor(merchant=store.merchant, store=store, channel=Channel.SYSTEM)
    stamp_add(actor=elsewhere, card_ref=CardRef(card_id=card.pk))
    browser.find_element(By.ID, "action-stamp").click()
    enter_pin(browser)
    cooldown = text_of(browser, "#status", "Trop tôt pour un autre tampon")
    assert "15 min" in cooldown or "14 min" in cooldown
    text_of(browser, "#stamp-state", "Tampon suivant à")  # the card is read again: why no stamp, until when

    # a wrong PIN: the pad comes back with the attempts left, then the lock
    earn(browser, ["5"])
    enter_pin(browser, "0000")
    error = text_of(browser, "#pin-error", "Code PIN erroné")
    assert "Essais restants : 2" in error
    for digit in "0001":
        browser.find_element(By.CSS_SELECTOR, f'#pin-dialog [data-key="{digit}"]').click()
    browser.find_element(By.ID, "pin-ok").click()
    text_of(browser, "#pin-error", "Essais restants : 1")
    for digit in "0002":
        browser.find_element(By.CSS_SELECTOR, f'#pin-dialog [data-key="{digit}"]').click()
    browser.find_element(By.ID, "pin-ok").click()
    locked = text_of(browser, "#status", "verrouillée jusqu'à")
    assert "Trop de codes PIN erronés" in locked
    assert not browser.find_element(By.ID, "pin-dialog").is_displayed()
    assert rows(card, TransactionType.POINTS_EARNED) == 0
    assert csp_violations(browser) == []


# --- Enrollment at the counter --------------------------------------------------------------------------------------


def test_enrolling_at_the_counter_shows_the_card_page_as_a_qr_code(browser, live_server, demo):
    sign_in(browser, live_server.url)
    browser.find_element(By.ID, "enroll-start").click()
    visible(browser, "#screen-enroll")
    browser.find_element(By.ID, "enroll-email").send_keys("walk.in@example.com")
    browser.find_element(By.ID, "enroll-name").send_keys("Walk In")
    assert not browser.find_element(By.ID, "enroll-terms").is_selected()
    assert not browser.find_element(By.ID, "enroll-marketing").is_selected()
    browser.find_element(By.CSS_SELECTOR, "#enroll-form button[type=submit]").click()
    assert "accept the terms" in text_of(browser, "#enroll-error", "terms")
    assert not LoyaltyCard.objects.filter(customer__email="walk.in@example.com").exists()

    browser.find_element(By.ID, "enroll-terms").click()
    # A day without its month is refused before anything is sent.
    Select(browser.find_element(By.ID, "enroll-birthday-day")).select_by_value("24")
    browser.find_element(By.CSS_SELECTOR, "#enroll-form button[type=submit]").click()
    assert "day and the month" in text_of(browser, "#enroll-error", "day and the month")
    Select(browser.find_element(By.ID, "enroll-birthday-month")).select_by_value("12")
    browser.find_element(By.CSS_SELECTOR, "#enroll-form button[type=submit]").click()
    visible(browser, "#screen-enrolled")
    card = LoyaltyCard.objects.get(customer__email="walk.in@example.com")
    assert (card.customer.birthday_day, card.customer.birthday_month) == (24, 12)
    link = browser.find_element(By.ID, "enrolled-link").text
    assert link.endswith(f"/card/{card.public_token}/")
    assert not card.customer.marketing_consent
    # the QR code drawn in the page says the same link: decoded by the vendored decoder from the drawing
    decoded = browser.execute_async_script(
        """
        const done = arguments[arguments.length - 1];
        const svg = document.querySelector('#enrolled-qr svg');
        const image = new Image();
        image.onload = async () => {
          const canvas = document.createElement('canvas');
          canvas.width = canvas.height = 400;
          const context = canvas.getContext('2d');
          context.drawImage(image, 0, 0, 400, 400);
          const { decodeQR } = await import('/static/till/vendor/qr/decode.js');
          done(decodeQR({ width: 400, height: 400, data: context.getImageData(0, 0, 400, 400).data }));
        };
        const markup = new XMLSerializer().serializeToString(svg);
        image.src = 'data:image/svg+xml;charset=utf-8,' + encodeURIComponent(markup);
        """
    )
    assert decoded == link
    browser.find_element(By.ID, "enrolled-open").click()
    visible(browser, "#screen-card")
    assert browser.find_element(By.ID, "card-name").text == "Walk"
    assert csp_violations(browser) == []


# --- Money ----------------------------------------------------------------------------------------------------------


def test_keypad_amounts_become_exact_cents(browser, live_server):
    browser.get(f"{live_server.url}/till/")
    visible(browser, "#screen-sign-in")
    cents = browser.execute_async_script(
        """
        const done = arguments[arguments.length - 1];
        import('/static/till/money.js').then(({ amountAfterKey, amountToCents }) => {
          const typed = (keys) => keys.reduce((text, key) => amountAfterKey(text, key), '');
          done([
            ['1', '9', 'decimal', '9', '9'], ['decimal', '0', '7'], ['0', '0', '4', 'decimal', '1', '0', '5'],
            ['1', '2', '3', '4', 'decimal', '5'], ['0', 'decimal', '1'], ['decimal'], ['8', 'back', '5'],
          ].map((keys) => amountToCents(typed(keys))));
        });
        """
    )
    # 19.99 € is 1999 cents (not 1998.9999…), a third decimal is ignored, nothing typed is no amount
    assert cents == [1999, 7, 410, 123450, 10, None, 500]
