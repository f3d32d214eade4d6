"""The campaign pages: written, sent, scheduled and cancelled through the campaign services."""

import re
from datetime import UTC, datetime

import pytest
from django.core import mail
from django.urls import reverse

from loyalty.models import AdminAuditLog, Campaign, CampaignStatus, Customer

pytestmark = [pytest.mark.django_db, pytest.mark.usefixtures("no_campaign_limits")]

CHANGELIST = reverse("admin:loyalty_campaign_changelist")
ADD = reverse("admin:loyalty_campaign_add")
TEXT = "Fresh apple pie this Saturday — come and try it!"


def _form(**changes):
    data = {
        "text_en": TEXT,
        "text_fr": "",
        "text_de": "",
        "text_lb": "",
        "link_url": "",
        "audience": "all_active",
        "audience_days": "",
        "audience_store": "",
        "scheduled_at_0": "",
        "scheduled_at_1": "",
    }
    data.update(changes)
    return data


@pytest.fixture
def consenting(world):
    """Both of Café Alpha's customers agreed to marketing e-mail."""
    Customer.objects.filter(merchant=world.alpha.merchant).update(marketing_consent=True)


@pytest.mark.parametrize("role", ["owner", "manager"])
def test_owner_or_manager_writes_a_draft_that_sends_nothing_yet(world, clients, role):
    response = clients[role].post(ADD, _form())
    assert response.status_code == 302, response.content.decode()[:2000]
    campaign = Campaign.objects.get(text_en=TEXT)
    assert campaign.merchant == world.alpha.merchant and campaign.status == CampaignStatus.DRAFT
    assert AdminAuditLog.objects.filter(object_id=str(campaign.pk), summary="campaign created").exists()
    assert mail.outbox == []


def test_the_page_shows_the_audience_count_before_sending(world, clients):
    page = clients["owner"].get(reverse("admin:loyalty_campaign_change", args=[world.alpha.campaign.pk]))
    assert page.status_code == 200
    content = page.content.decode()
    # Café Alpha has two active cards
    assert re.search(r'field-audience_count.*?<div class="readonly">2</div>', content, re.DOTALL)


def test_a_refused_text_is_shown_and_nothing_is_saved(world, clients):
    response = clients["owner"].post(ADD, _form(text_en="", link_url="http://cafe.example/"))
    assert response.status_code == 200
    assert Campaign.objects.filter(merchant=world.alpha.merchant).count() == 1  # the world's own


def test_send_now_sends_through_a_task_to_consenting_customers(
    world, clients, consenting, django_capture_on_commit_callbacks
):
    campaign = world.alpha.campaign
    with django_capture_on_commit_callbacks(execute=True):
        response = clients["owner"].post(
            CHANGELIST, {"action": "send_now", "_selected_action": [campaign.pk], "index": "0"}
        )
    assert response.status_code == 302
    campaign.refresh_from_db()
    assert campaign.status == CampaignStatus.SENT and campaign.recipients_count == 2
    assert sorted(message.to[0] for message in mail.outbox) == [
        "first@cafe-alpha.example.com",
        "second@cafe-alpha.example.com",
    ]
    page = clients["owner"].get(reverse("admin:loyalty_campaign_change", args=[campaign.pk])).content.decode()
    assert "E-mail: Sent 2" in page


def test_a_scheduled_campaign_is_cancelled_from_the_list(world, clients):
    campaign = world.alpha.campaign
    response = clients["owner"].post(
        reverse("admin:loyalty_campaign_change", args=[campaign.pk]),
        _form(text_en=campaign.text_en, scheduled_at_0="2099-06-01", scheduled_at_1="10:00:00"),
    )
    assert response.status_code == 302
    campaign.refresh_from_db()
    assert campaign.status == CampaignStatus.SCHEDULED
    assert campaign.scheduled_at == datetime(2099, 6, 1, 8, 0, tzinfo=UTC)  # 10:00 in Luxembourg
    clients["owner"].post(CHANGELIST, {"action": "cancel_campaigns", "_selected_action": [campaign.pk], "index": "0"})
    campaign.refresh_from_db()
    assert campaign.status == CampaignStatus.CANCELLED and mail.outbox == []


def test_another_merchants_campaign_cannot_be_sent(world, clients):
    foreign = world.beta.campaign
    clients["owner"].post(CHANGELIST, {"action": "send_now", "_selected_action": [foreign.pk], "index": "0"})
    foreign.refresh_from_db()
    assert foreign.status == CampaignStatus.DRAFT
