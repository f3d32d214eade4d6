"""Two workers on one campaign at once (PostgreSQL, real threads): each consenting customer gets one e-mail."""

import pytest
from django.core import mail

from loyalty.exceptions import CampaignNotChangeable
from loyalty.models import Campaign, CampaignDelivery, CampaignStatus
from loyalty.services.campaigns import campaign_cancel, campaign_create, campaign_send
from tests import factories
from tests.loyalty.test_concurrency import run_concurrently

pytestmark = [pytest.mark.postgres, pytest.mark.django_db(transaction=True)]


def test_workers_sending_one_campaign_together_send_each_email_once(author, store, program):
    cards = [factories.make_card(store, marketing_consent=True) for _ in range(30)]
    campaign = campaign_create(actor=author, text_en="Pie on Saturday")
    # due now, its task not run (campaign_schedule would run it here, eagerly, at commit)
    Campaign.objects.filter(pk=campaign.pk).update(status=CampaignStatus.SCHEDULED, scheduled_at=campaign.created_at)

    outcomes = run_concurrently(lambda index: campaign_send(campaign_id=campaign.pk, batch_size=7), count=4)

    assert not [outcome for outcome in outcomes if isinstance(outcome, Exception)], outcomes
    assert sorted(message.to[0] for message in mail.outbox) == sorted(card.customer.email for card in cards)
    assert CampaignDelivery.objects.filter(campaign=campaign, status="sent").count() == 30
    assert Campaign.objects.get(pk=campaign.pk).status == CampaignStatus.SENT


def test_a_cancel_racing_the_start_either_cancels_or_is_refused(author, store, program):
    factories.make_card(store, marketing_consent=True)
    for _ in range(5):
        campaign = campaign_create(actor=author, text_en="Race")
        Campaign.objects.filter(pk=campaign.pk).update(
            status=CampaignStatus.SCHEDULED, scheduled_at=campaign.created_at
        )
        mail.outbox.clear()

        def work(index, campaign_id=campaign.pk):
            if index == 0:
                return campaign_cancel(actor=author, campaign_id=campaign_id).status
            return campaign_send(campaign_id=campaign_id).status

        cancel_outcome, send_outcome = run_concurrently(work, count=2)
        final = Campaign.objects.get(pk=campaign.pk).status
        if isinstance(cancel_outcome, CampaignNotChangeable):
            assert final == CampaignStatus.SENT and len(mail.outbox) == 1
        else:
            assert cancel_outcome == CampaignStatus.CANCELLED and final == CampaignStatus.CANCELLED
            assert mail.outbox == [] and send_outcome == CampaignStatus.CANCELLED
