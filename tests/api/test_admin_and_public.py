"""Platform-admin API (audited reads) and the public API (storefront, enrollment)."""

from datetime import timedelta

import pytest
from django.core import mail
from django.utils import timezone

from loyalty.models import AdminAuditLog, Customer, LoyaltyCard, LoyaltyTransaction, MerchantSettings
from tests import factories
from tests.api.conftest import error_of

ADMIN = "/api/v1/admin/loyalty/"
PUBLIC = "/api/v1/loyalty/"


@pytest.mark.django_db
class TestAdmin:
    def test_programs_list_filter_detail_and_stats_are_audited(self, admin_client, merchant, program, other_program):
        everything = admin_client.get(ADMIN + "programs").json()
        only_alpha = admin_client.get(ADMIN + "programs", {"merchant": merchant.pk}).json()
        inactive = admin_client.get(ADMIN + "programs", {"is_active": "false"}).json()
        detail = admin_client.get(f"{ADMIN}programs/{program.pk}").json()
        stats = admin_client.get(f"{ADMIN}programs/{program.pk}/stats").json()

        assert everything["count"] == 2
        assert [p["id"] for p in only_alpha["results"]] == [program.pk]
        assert inactive["count"] == 0
        assert detail["merchant"] == {"id": merchant.pk, "name": merchant.name, "slug": merchant.slug}
        assert stats["program_id"] == program.pk
        audit = AdminAuditLog.objects.filter(actor=admin_client.user)
        assert audit.filter(merchant=merchant).count() == 4  # two lists, the detail, the stats
        assert audit.filter(merchant=other_program.merchant).count() == 1
        entry = audit.filter(merchant=merchant, summary="API: statistics").get()
        assert (entry.action, entry.object_type, entry.object_id) == ("view", "loyalty.Program", str(program.pk))
        assert entry.ip_address == "127.0.0.1"

    def test_merchants_and_their_stats(self, admin_client, merchant, store, program, other_merchant):
        merchants = admin_client.get(ADMIN + "merchants").json()
        stats = admin_client.get(f"{ADMIN}merchants/{merchant.pk}/stats").json()
        platform = admin_client.get(ADMIN + "stats").json()
        missing = admin_client.get(f"{ADMIN}merchants/999999/stats")

        by_name = {m["name"]: m for m in merchants["results"]}
        assert by_name[merchant.name]["has_program"] is True and by_name[merchant.name]["stores_total"] == 1
        assert by_name[other_merchant.name]["has_program"] is False
        assert stats["merchant_id"] == merchant.pk
        assert platform["merchants_total"] == 2
        assert (missing.status_code, error_of(missing)["code"]) == (404, "MERCHANT_NOT_FOUND")
        assert AdminAuditLog.objects.filter(merchant=merchant, summary="API: statistics").count() == 1
        assert AdminAuditLog.objects.filter(object_type="platform").count() == 1

    def test_unknown_program_is_404(self, admin_client):
        response = admin_client.get(f"{ADMIN}programs/424242")
        assert (response.status_code, error_of(response)["code"]) == (404, "PROGRAM_NOT_FOUND")

    @pytest.mark.parametrize("client_name", ["staff_client", "manager_client", "owner_client"])
    def test_store_tokens_are_refused_and_nothing_is_audited(self, request, client_name, program):
        client = request.getfixturevalue(client_name)
        for path in (
            "programs",
            f"programs/{program.pk}",
            f"programs/{program.pk}/stats",
            "stats",
            "merchants",
            f"merchants/{program.merchant_id}/stats",
        ):
            response = client.get(ADMIN + path)
            assert (response.status_code, error_of(response)["code"]) == (403, "PERMISSION_DENIED"), path
        assert AdminAuditLog.objects.count() == 0

    def test_anonymous_is_401(self, anonymous):
        assert anonymous.get(ADMIN + "stats").status_code == 401


@pytest.mark.django_db
class TestStorefront:
    def test_shows_the_program_and_nothing_internal(self, anonymous, store, program, reward, card):
        factories.make_reward(program, "Retired", 50, is_active=False)
        response = anonymous.get(PUBLIC + f"programs/{store.code}")

        assert response.status_code == 200
        body = response.json()
        assert body["store"] == {"code": store.code, "name": store.name, "address": ""}
        assert body["merchant"] == {"name": "Café Alpha"}
        assert body["program"]["rewards"] == [{"name": "Croissant", "description": "", "points_required": 100}]
        assert (body["program"]["stamps_target"], body["program"]["points_per_euro"]) == (10, 10)
        assert body["enrollment_open"] is True
        text = response.content.decode()
        assert '"id"' not in text and card.customer.email not in text and card.card_number not in text

    def test_unknown_or_inactive_store_and_inactive_program_are_404(self, anonymous, store, program):
        assert error_of(anonymous.get(PUBLIC + "programs/nope"))["code"] == "STORE_NOT_FOUND"
        program.is_active = False
        program.save()
        response = anonymous.get(PUBLIC + f"programs/{store.code}")
        assert (response.status_code, error_of(response)["code"]) == (404, "PROGRAM_NOT_FOUND")
        store.is_active = False
        store.save()
        assert anonymous.get(PUBLIC + f"programs/{store.code}").status_code == 404


@pytest.mark.django_db
class TestPublicEnroll:
    BODY = {"email": "new@example.com", "full_name": "New Person", "accept_terms": True, "language": "fr"}

    def test_new_customer_gets_a_card_link(self, anonymous, store, program, settings):
        settings.SITE_URL = "https://loyalty.example.com"
        response = anonymous.post(
            PUBLIC + f"enroll/{store.code}",
            {**self.BODY, "marketing_consent": True},
            format="json",
            HTTP_USER_AGENT="Mozilla/5.0 test",
        )

        assert response.status_code == 201
        card = LoyaltyCard.objects.get(customer__email="new@example.com")
        assert response.json() == {"card_url": f"https://loyalty.example.com/fr/card/{card.public_token}/"}
        assert card.customer.marketing_consent is True and card.enrolled_store == store
        enrolled = LoyaltyTransaction.objects.get(card=card)
        assert (enrolled.user_agent, enrolled.ip_address) == ("Mozilla/5.0 test", "127.0.0.1")

    def test_existing_email_gets_202_and_the_link_by_mail_only(
        self, anonymous, store, program, card, django_capture_on_commit_callbacks
    ):
        with django_capture_on_commit_callbacks(execute=True):  # the e-mail leaves after the commit
            response = anonymous.post(
                PUBLIC + f"enroll/{store.code}", {**self.BODY, "email": card.customer.email.upper()}, format="json"
            )

        assert response.status_code == 202
        assert response.json() == {"status": "check_email"}
        assert card.public_token not in response.content.decode()
        assert len(mail.outbox) == 1 and mail.outbox[0].to == [card.customer.email]
        assert card.public_token in mail.outbox[0].body
        assert LoyaltyCard.objects.count() == 1

    def test_a_known_customer_without_the_card_gets_it_by_mail_not_in_the_answer(
        self, anonymous, store, program, django_capture_on_commit_callbacks
    ):
        """As on the join page: whoever types a known customer's e-mail never receives that customer's card."""
        Customer.objects.create(
            merchant=store.merchant, email="known@example.com", full_name="Known", preferred_language="de"
        )

        with django_capture_on_commit_callbacks(execute=True):
            response = anonymous.post(
                PUBLIC + f"enroll/{store.code}", {**self.BODY, "email": "known@example.com"}, format="json"
            )

        card = LoyaltyCard.objects.get(customer__email="known@example.com")
        assert (response.status_code, response.json()) == (202, {"status": "check_email"})
        assert card.public_token not in response.content.decode()
        assert [message.to for message in mail.outbox] == [["known@example.com"]]
        assert f"/de/card/{card.public_token}/" in mail.outbox[0].body

    def test_enrolling_again_mails_the_link_at_most_once_every_ten_minutes(
        self, anonymous, store, program, card, django_capture_on_commit_callbacks
    ):
        def enroll_again():
            with django_capture_on_commit_callbacks(execute=True):
                return anonymous.post(
                    PUBLIC + f"enroll/{store.code}", {**self.BODY, "email": card.customer.email}, format="json"
                )

        answers = [enroll_again() for _attempt in range(3)]

        assert [(answer.status_code, answer.json()) for answer in answers] == [(202, {"status": "check_email"})] * 3
        assert [message.to for message in mail.outbox] == [[card.customer.email]]

        LoyaltyCard.objects.filter(pk=card.pk).update(card_link_sent_at=timezone.now() - timedelta(minutes=10))
        assert enroll_again().status_code == 202
        assert len(mail.outbox) == 2

    def test_terms_must_be_accepted_and_name_given(self, anonymous, store, program):
        response = anonymous.post(
            PUBLIC + f"enroll/{store.code}", {"email": "a@example.com", "accept_terms": False}, format="json"
        )
        assert (response.status_code, error_of(response)["code"]) == (400, "VALIDATION_ERROR")
        assert set(error_of(response)["details"]) == {"accept_terms", "full_name"}
        assert Customer.objects.count() == 0

    def test_closed_enrollment_is_409(self, anonymous, merchant, store, program):
        MerchantSettings.objects.create(merchant=merchant, self_enrollment_open=False)
        response = anonymous.post(PUBLIC + f"enroll/{store.code}", self.BODY, format="json")
        assert (response.status_code, error_of(response)["code"]) == (409, "ENROLLMENT_CLOSED")
        assert Customer.objects.count() == 0

    def test_inactive_program_or_unknown_store_is_404(self, anonymous, store, program):
        assert anonymous.post(PUBLIC + "enroll/nope", self.BODY, format="json").status_code == 404
        program.is_active = False
        program.save()
        response = anonymous.post(PUBLIC + f"enroll/{store.code}", self.BODY, format="json")
        assert (response.status_code, error_of(response)["code"]) == (404, "PROGRAM_NOT_FOUND")
        assert Customer.objects.count() == 0
