"""An automatic message reaches Apple passes like a campaign: the "News" back field, its lock-screen alert, a push."""

import json
from datetime import UTC, datetime


from loyalty.models import Customer
from loyalty.services.automatic_messages import automatic_messages_run
from loyalty.services.tenancy import merchant_settings_update
from tests import factories
from tests.wallet.apple.conftest import unzip
from wallet.apple.builder import pass_package_build
from wallet.apple.config import apple_config
from wallet.apple.services import apple_pass_get_or_create, device_register
from wallet.models import ApplePass

MORNING = datetime(2026, 6, 15, 8, 0, tzinfo=UTC)  # 10:00 in Luxembourg


def _news(apple_pass):
    files = unzip(pass_package_build(apple_pass=apple_pass, config=apple_config()))
    back = {field["key"]: field for field in json.loads(files["pass.json"])["storeCard"]["backFields"]}
    return back.get("news"), files


def test_a_birthday_message_shows_on_the_pass_in_the_customers_language_and_pushes(
    apns_server, store, card, django_capture_on_commit_callbacks
):
    merchant_settings_update(
        actor=factories.owner_actor(store), birthday_message_enabled=True, birthday_text_fr="Bon anniversaire, Anne !"
    )
    Customer.objects.filter(pk=card.customer_id).update(birthday_month=6, birthday_day=15)
    apple_pass = apple_pass_get_or_create(card=card)
    device_register(apple_pass=apple_pass, device_library_identifier="device-one", push_token="token-one")
    tag_before = ApplePass.objects.get(pk=apple_pass.pk).change_tag

    with django_capture_on_commit_callbacks(execute=True):
        automatic_messages_run(now=MORNING)

    apple_pass.refresh_from_db()
    assert apple_pass.change_tag > tag_before
    assert [request["path"] for request in apns_server.requests] == ["/3/device/token-one"]
    news, files = _news(apple_pass)
    assert news["changeMessage"] == "%@"
    key = news["value"]
    assert f'"{key}" = "Bon anniversaire, Anne !";' in files["fr.lproj/pass.strings"].decode("utf-16")
    assert f'"{key}" = "Happy birthday! Thank you for being with us.";' in files["en.lproj/pass.strings"].decode(
        "utf-16"
    )
    assert f'"{key}" = "Alles Guddes fir däi Gebuertsdag! Merci, datt s du bei eis bass.";' in files[
        "lb.lproj/pass.strings"
    ].decode("utf-16")

    # A run later that day sends nothing more: the same news, no second push.
    with django_capture_on_commit_callbacks(execute=True):
        automatic_messages_run(now=MORNING.replace(hour=12))
    assert len(apns_server.requests) == 1
    assert _news(apple_pass)[0]["value"] == key
