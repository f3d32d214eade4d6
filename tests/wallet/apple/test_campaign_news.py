"""A campaign reaches Apple passes: a "News" back field with the text, shown on the lock screen, and a push."""

import json

import pytest

from loyalty.services.campaigns import campaign_cancel, campaign_create, campaign_schedule, campaign_send
from tests.wallet.apple.conftest import unzip
from wallet.apple import localization
from wallet.apple.builder import pass_package_build
from wallet.apple.config import apple_config
from wallet.apple.services import apple_pass_get_or_create, device_register
from wallet.models import ApplePass

TEXT = "Fresh apple pie this Saturday — come and try it!"

pytestmark = pytest.mark.usefixtures("each_pass_source_reader", "no_campaign_limits")


def _send(author, capture, **fields):
    campaign = campaign_create(actor=author, **fields)
    with capture(execute=True):
        campaign_schedule(actor=author, campaign_id=campaign.pk)
    return campaign


def _news(apple_pass):
    files = unzip(pass_package_build(apple_pass=apple_pass, config=apple_config()))
    pass_json = json.loads(files["pass.json"])
    back = {field["key"]: field for field in pass_json["storeCard"]["backFields"]}
    return back.get("news"), files


def test_the_pass_shows_the_latest_campaign_in_every_language_with_its_text_as_change_message(
    apns_server, author, card, django_capture_on_commit_callbacks
):
    # given: a pass on two devices
    apple_pass = apple_pass_get_or_create(card=card)
    for device, token in (("device-one", "token-one"), ("device-two", "token-two")):
        device_register(apple_pass=apple_pass, device_library_identifier=device, push_token=token)
    tag_before = ApplePass.objects.get(pk=apple_pass.pk).change_tag
    assert _news(apple_pass)[0] is None

    # when
    campaign = _send(author, django_capture_on_commit_callbacks, text_en=TEXT, text_fr="Tarte aux pommes samedi !")

    # then: the tag moved, each device got one push, and the pass carries the news
    apple_pass.refresh_from_db()
    assert apple_pass.change_tag > tag_before
    assert sorted(request["path"] for request in apns_server.requests) == ["/3/device/token-one", "/3/device/token-two"]
    news, files = _news(apple_pass)
    assert news["label"] == "LABEL_NEWS" and news["changeMessage"] == "%@"
    key = news["value"]
    for language, expected in (("en", TEXT), ("fr", "Tarte aux pommes samedi !"), ("de", TEXT)):
        strings = files[f"{language}.lproj/pass.strings"].decode("utf-16")
        assert f'"{key}" = "{expected}";' in strings
        assert f'"LABEL_NEWS" = "{localization.LABELS[language]["LABEL_NEWS"]}";' in strings
    # a later campaign replaces the text under a new key, so the phone alerts again
    later = _send(author, django_capture_on_commit_callbacks, text_en="Closed on Monday")
    assert _news(apple_pass)[0]["value"] != key and later.pk != campaign.pk


def test_running_the_sending_again_adds_no_news_and_a_cancelled_campaign_none(
    apple_settings, author, card, django_capture_on_commit_callbacks
):
    apple_pass = apple_pass_get_or_create(card=card)
    cancelled = campaign_create(actor=author, text_en="Never sent")
    campaign_cancel(actor=author, campaign_id=cancelled.pk)
    assert _news(apple_pass)[0] is None
    campaign = _send(author, django_capture_on_commit_callbacks, text_en=TEXT)
    first = _news(apple_pass)[0]
    campaign_send(campaign_id=campaign.pk)
    assert _news(apple_pass)[0] == first
