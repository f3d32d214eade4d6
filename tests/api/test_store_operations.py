"""Till operations over HTTP: stamp, redeem, void, earn, adjust — results, error codes, isolation."""

from datetime import timedelta

import pytest
from django.utils import timezone

from loyalty.models import LoyaltyCard, LoyaltyTransaction
from tests import factories
from tests.api.conftest import error_of

BASE = "/api/v1/store/loyalty/"


def ledger_count(card) -> int:
    return LoyaltyTransaction.objects.filter(card=card).count()


def backdate_last_stamp(card, minutes=20):
    LoyaltyCard.objects.filter(pk=card.pk).update(last_stamp_at=timezone.now() - timedelta(minutes=minutes))


@pytest.mark.django_db
class TestStamp:
    def test_stamp_by_card_number_answers_the_documented_fields(self, staff_client, program, card):
        response = staff_client.post(BASE + "stamp", {"card_number": card.card_number}, format="json")

        assert response.status_code == 201, response.json()
        body = response.json()
        assert set(body) == {
            "transaction_id",
            "card_id",
            "card_number",
            "stamp_count",
            "stamps_target",
            "stamps_until_reward",
            "reward_earned",
            "stamps_today",
            "max_daily_stamps",
            "next_stamp_available_at",
        }
        assert (body["card_id"], body["stamp_count"], body["stamps_until_reward"]) == (card.pk, 1, 9)
        assert (body["stamps_today"], body["max_daily_stamps"], body["reward_earned"]) == (1, 5, False)
        assert body["next_stamp_available_at"].endswith("+01:00") or body["next_stamp_available_at"].endswith("+02:00")
        tx = LoyaltyTransaction.objects.get(pk=body["transaction_id"])
        assert (tx.card_id, tx.type, tx.stamps_delta, tx.store_id) == (
            card.pk,
            "STAMP_EARNED",
            1,
            staff_client.token.store_id,
        )
        assert tx.acting_user == staff_client.user

    def test_cooldown_is_422_with_the_next_time_and_changes_nothing(self, staff_client, program, card):
        staff_client.post(BASE + "stamp", {"card_id": card.pk}, format="json")
        before = ledger_count(card)

        response = staff_client.post(BASE + "stamp", {"card_id": card.pk}, format="json")

        assert response.status_code == 422
        error = error_of(response)
        assert error["code"] == "STAMP_COOLDOWN"
        assert "next_stamp_available_at" in error["details"]
        card.refresh_from_db()
        assert card.stamp_count == 1 and ledger_count(card) == before

    def test_daily_limit_is_422(self, staff_client, merchant, store):
        factories.make_program(merchant, cooldown_minutes=0, max_daily_stamps=2)
        card = factories.make_card(store)
        for _ in range(2):
            assert staff_client.post(BASE + "stamp", {"card_id": card.pk}, format="json").status_code == 201

        response = staff_client.post(BASE + "stamp", {"card_id": card.pk}, format="json")

        assert response.status_code == 422
        assert error_of(response)["code"] == "DAILY_STAMP_LIMIT"
        card.refresh_from_db()
        assert card.stamp_count == 2

    def test_inactive_card_is_422(self, staff_client, program, card):
        LoyaltyCard.objects.filter(pk=card.pk).update(is_active=False)
        response = staff_client.post(BASE + "stamp", {"card_id": card.pk}, format="json")
        assert (response.status_code, error_of(response)["code"]) == (422, "CARD_INACTIVE")

    def test_points_only_program_refuses_stamps(self, staff_client, merchant, store):
        factories.make_program(merchant, loyalty_type="points")
        card = factories.make_card(store)
        response = staff_client.post(BASE + "stamp", {"card_id": card.pk}, format="json")
        assert (response.status_code, error_of(response)["code"]) == (422, "PROGRAM_TYPE_MISMATCH")

    def test_card_of_another_merchant_is_404_and_untouched(self, staff_client, program, other_card):
        response = staff_client.post(BASE + "stamp", {"card_id": other_card.pk}, format="json")
        assert (response.status_code, error_of(response)["code"]) == (404, "CARD_NOT_FOUND")
        response = staff_client.post(BASE + "stamp", {"qr_code": other_card.qr_code_data}, format="json")
        assert response.status_code == 404
        other_card.refresh_from_db()
        assert other_card.stamp_count == 0 and ledger_count(other_card) == 1  # the enrollment only

    @pytest.mark.parametrize(
        "body",
        [{}, {"card_id": 1, "card_number": "482915736204"}, {"card_number": "123456789012"}],
        ids=["no-card", "two-names", "bad-luhn"],
    )
    def test_card_must_be_named_exactly_once_with_a_valid_number(self, staff_client, program, card, body):
        response = staff_client.post(BASE + "stamp", body, format="json")
        assert (response.status_code, error_of(response)["code"]) == (400, "VALIDATION_ERROR")


@pytest.mark.django_db
class TestStaffPin:
    @pytest.fixture
    def pin_program(self, merchant):
        return factories.make_program(merchant, require_staff_pin=True)

    def test_required_pin_missing_wrong_then_locked(self, staff_client, pin_program, store, settings):
        settings.LOYALTY_PIN_MAX_FAILED_ATTEMPTS = 2
        card = factories.make_card(store)
        factories.make_pin(store, "4321")

        missing = staff_client.post(BASE + "stamp", {"card_id": card.pk}, format="json")
        wrong = staff_client.post(BASE + "stamp", {"card_id": card.pk, "staff_pin": "0000"}, format="json")
        locked = staff_client.post(BASE + "stamp", {"card_id": card.pk, "staff_pin": "1111"}, format="json")
        still_locked = staff_client.post(BASE + "stamp", {"card_id": card.pk, "staff_pin": "4321"}, format="json")

        assert (missing.status_code, error_of(missing)["code"]) == (422, "STAFF_PIN_REQUIRED")
        assert (wrong.status_code, error_of(wrong)["code"]) == (422, "STAFF_PIN_INVALID")
        assert (locked.status_code, error_of(locked)["code"]) == (423, "STAFF_PIN_LOCKED")
        assert "locked_until" in error_of(locked)["details"]
        assert still_locked.status_code == 423
        card.refresh_from_db()
        assert card.stamp_count == 0

    def test_right_pin_is_recorded_on_the_transaction(self, staff_client, pin_program, store):
        card = factories.make_card(store)
        staff_pin = factories.make_pin(store, "4321")
        response = staff_client.post(BASE + "stamp", {"card_id": card.pk, "staff_pin": "4321"}, format="json")
        assert response.status_code == 201
        assert LoyaltyTransaction.objects.get(pk=response.json()["transaction_id"]).staff_pin == staff_pin
        assert "4321" not in response.content.decode()


@pytest.mark.django_db
class TestStampRedeemAndVoid:
    def test_redeem_takes_the_target_and_names_the_reward(self, staff_client, program, card):
        LoyaltyCard.objects.filter(pk=card.pk).update(stamp_count=12)
        response = staff_client.post(BASE + "stamp/redeem", {"card_id": card.pk}, format="json")
        assert response.status_code == 201
        body = response.json()
        assert body == {
            "transaction_id": body["transaction_id"],
            "card_id": card.pk,
            "stamp_count": 2,
            "reward_description": "Free coffee",
            "stamps_redeemed": 10,
        }

    def test_redeem_without_enough_stamps_is_422(self, staff_client, program, card):
        response = staff_client.post(BASE + "stamp/redeem", {"card_id": card.pk}, format="json")
        assert (response.status_code, error_of(response)["code"]) == (422, "INSUFFICIENT_STAMPS")
        assert error_of(response)["details"] == {"stamp_count": 0, "stamps_target": 10}

    def test_void_by_transaction_once_then_already_voided(self, staff_client, program, card):
        stamp = staff_client.post(BASE + "stamp", {"card_id": card.pk}, format="json").json()

        first = staff_client.post(
            BASE + "stamp/void", {"card_id": card.pk, "original_transaction_id": stamp["transaction_id"]}, format="json"
        )
        second = staff_client.post(
            BASE + "stamp/void", {"card_id": card.pk, "original_transaction_id": stamp["transaction_id"]}, format="json"
        )

        assert first.status_code == 201
        assert {k: first.json()[k] for k in ("card_id", "stamps_voided", "stamp_count")} == {
            "card_id": card.pk,
            "stamps_voided": 1,
            "stamp_count": 0,
        }
        assert (second.status_code, error_of(second)["code"]) == (409, "ALREADY_VOIDED")

    def test_void_of_another_merchants_transaction_is_404(self, staff_client, program, card, other_card):
        foreign = LoyaltyTransaction.objects.filter(card=other_card).first()
        response = staff_client.post(
            BASE + "stamp/void", {"card_id": card.pk, "original_transaction_id": foreign.pk}, format="json"
        )
        assert (response.status_code, error_of(response)["code"]) == (404, "TRANSACTION_NOT_FOUND")

    def test_void_needs_exactly_one_way(self, staff_client, program, card):
        response = staff_client.post(BASE + "stamp/void", {"card_id": card.pk}, format="json")
        assert (response.status_code, error_of(response)["code"]) == (400, "VALIDATION_ERROR")


@pytest.mark.django_db
class TestPoints:
    def test_earn_then_replay_returns_the_original_with_200(self, staff_client, program, card):
        body = {"card_id": card.pk, "purchase_amount_cents": 1299, "order_reference": "POS-1"}

        first = staff_client.post(BASE + "points/earn", body, format="json")
        replay = staff_client.post(BASE + "points/earn", body, format="json")

        assert first.status_code == 201
        assert first.json() == {
            "transaction_id": first.json()["transaction_id"],
            "card_id": card.pk,
            "points_earned": 129,
            "points_balance": 129,
            "replayed": False,
        }
        assert replay.status_code == 200
        assert replay.json() == {**first.json(), "replayed": True}
        card.refresh_from_db()
        assert card.points_balance == 129

    def test_same_reference_other_amount_is_409(self, staff_client, program, card):
        staff_client.post(
            BASE + "points/earn",
            {"card_id": card.pk, "purchase_amount_cents": 500, "order_reference": "R"},
            format="json",
        )
        response = staff_client.post(
            BASE + "points/earn",
            {"card_id": card.pk, "purchase_amount_cents": 600, "order_reference": "R"},
            format="json",
        )
        assert (response.status_code, error_of(response)["code"]) == (409, "IDEMPOTENCY_CONFLICT")

    def test_below_minimum_purchase_is_422(self, staff_client, merchant, store):
        factories.make_program(merchant, minimum_purchase_cents=500)
        card = factories.make_card(store)
        response = staff_client.post(
            BASE + "points/earn", {"card_id": card.pk, "purchase_amount_cents": 499}, format="json"
        )
        assert (response.status_code, error_of(response)["code"]) == (422, "BELOW_MINIMUM_PURCHASE")

    def test_stamps_only_program_refuses_points(self, staff_client, merchant, store):
        factories.make_program(merchant, loyalty_type="stamps")
        card = factories.make_card(store)
        response = staff_client.post(
            BASE + "points/earn", {"card_id": card.pk, "purchase_amount_cents": 900}, format="json"
        )
        assert (response.status_code, error_of(response)["code"]) == (422, "PROGRAM_TYPE_MISMATCH")

    def test_redeem_a_reward(self, staff_client, program, reward, card):
        LoyaltyCard.objects.filter(pk=card.pk).update(points_balance=150)
        response = staff_client.post(
            BASE + "points/redeem", {"card_id": card.pk, "reward_id": reward.pk}, format="json"
        )
        assert response.status_code == 201
        assert {k: v for k, v in response.json().items() if k != "transaction_id"} == {
            "card_id": card.pk,
            "reward_id": reward.pk,
            "reward_name": "Croissant",
            "points_spent": 100,
            "points_balance": 50,
        }

    def test_redeem_with_too_few_points_is_422_and_changes_nothing(self, staff_client, program, reward, card):
        before = ledger_count(card)
        response = staff_client.post(
            BASE + "points/redeem", {"card_id": card.pk, "reward_id": reward.pk}, format="json"
        )
        assert (response.status_code, error_of(response)["code"]) == (422, "INSUFFICIENT_POINTS")
        assert ledger_count(card) == before

    def test_reward_of_another_merchant_is_404(self, staff_client, program, card, other_program):
        foreign_reward = factories.make_reward(other_program, "Bread", 1)
        LoyaltyCard.objects.filter(pk=card.pk).update(points_balance=150)
        response = staff_client.post(
            BASE + "points/redeem", {"card_id": card.pk, "reward_id": foreign_reward.pk}, format="json"
        )
        assert (response.status_code, error_of(response)["code"]) == (404, "REWARD_NOT_FOUND")
        card.refresh_from_db()
        assert card.points_balance == 150

    def test_void_by_order_reference(self, staff_client, program, card):
        staff_client.post(
            BASE + "points/earn",
            {"card_id": card.pk, "purchase_amount_cents": 1000, "order_reference": "R9"},
            format="json",
        )
        response = staff_client.post(BASE + "points/void", {"card_id": card.pk, "order_reference": "R9"}, format="json")
        assert response.status_code == 201
        assert {k: v for k, v in response.json().items() if k != "transaction_id"} == {
            "card_id": card.pk,
            "points_voided": 100,
            "points_balance": 0,
        }

    def test_void_with_nothing_left_is_422(self, staff_client, program, card):
        response = staff_client.post(BASE + "points/void", {"card_id": card.pk, "points_to_void": 5}, format="json")
        assert (response.status_code, error_of(response)["code"]) == (422, "NOTHING_TO_VOID")


@pytest.mark.django_db
class TestAdjust:
    def test_owner_adjusts(self, owner_client, program, card):
        response = owner_client.post(
            f"{BASE}cards/{card.pk}/points/adjust", {"points_delta": 40, "reason": "Goodwill"}, format="json"
        )
        assert response.status_code == 201
        assert {k: v for k, v in response.json().items() if k != "transaction_id"} == {
            "card_id": card.pk,
            "points_delta": 40,
            "points_balance": 40,
        }

    @pytest.mark.parametrize("client_name", ["staff_client", "manager_client"])
    def test_staff_and_managers_may_not_adjust(self, request, client_name, program, card):
        client = request.getfixturevalue(client_name)
        response = client.post(
            f"{BASE}cards/{card.pk}/points/adjust", {"points_delta": 40, "reason": "x"}, format="json"
        )
        assert (response.status_code, error_of(response)["code"]) == (403, "PERMISSION_DENIED")
        card.refresh_from_db()
        assert card.points_balance == 0

    def test_below_zero_is_422(self, owner_client, program, card):
        response = owner_client.post(
            f"{BASE}cards/{card.pk}/points/adjust", {"points_delta": -1, "reason": "x"}, format="json"
        )
        assert (response.status_code, error_of(response)["code"]) == (422, "INSUFFICIENT_POINTS")

    def test_card_of_another_merchant_is_404(self, owner_client, program, other_card):
        response = owner_client.post(
            f"{BASE}cards/{other_card.pk}/points/adjust", {"points_delta": 5, "reason": "x"}, format="json"
        )
        assert (response.status_code, error_of(response)["code"]) == (404, "CARD_NOT_FOUND")
        other_card.refresh_from_db()
        assert other_card.points_balance == 0


@pytest.mark.django_db
class TestClientRecorded:
    def test_ip_and_user_agent_without_proxy(self, staff_user, store, program, card, settings):
        from tests.api.conftest import client_for

        settings.TRUSTED_PROXY_COUNT = 0
        client = client_for(staff_user, store, HTTP_USER_AGENT="ScannerApp/2.1", REMOTE_ADDR="198.51.100.7")
        response = client.post(BASE + "stamp", {"card_id": card.pk}, format="json", HTTP_X_FORWARDED_FOR="203.0.113.9")
        tx = LoyaltyTransaction.objects.get(pk=response.json()["transaction_id"])
        assert (tx.ip_address, tx.user_agent) == ("198.51.100.7", "ScannerApp/2.1")  # a forged header is ignored

    def test_ip_behind_one_trusted_proxy(self, staff_user, store, program, card, settings):
        from tests.api.conftest import client_for

        settings.TRUSTED_PROXY_COUNT = 1
        client = client_for(staff_user, store, HTTP_USER_AGENT="ScannerApp/2.1", REMOTE_ADDR="10.0.0.2")
        response = client.post(
            BASE + "points/earn",
            {"card_id": card.pk, "purchase_amount_cents": 100},
            format="json",
            HTTP_X_FORWARDED_FOR="6.6.6.6, 203.0.113.9",  # the client forged the first entry; the proxy added the last
        )
        tx = LoyaltyTransaction.objects.get(pk=response.json()["transaction_id"])
        assert (tx.ip_address, tx.user_agent) == ("203.0.113.9", "ScannerApp/2.1")
