"""The program, staff PINs and statistics over HTTP, with their role checks."""

import pytest

from loyalty.models import LoyaltyTransaction, Program
from staff.models import StaffPin, StorePinGuard
from tests import factories
from tests.api.conftest import client_for, error_of

BASE = "/api/v1/store/loyalty/"


@pytest.mark.django_db
class TestProgram:
    def test_any_member_reads_the_program_with_its_catalog(self, staff_client, program, reward):
        body = staff_client.get(BASE + "program").json()
        assert (body["name"], body["loyalty_type"]) == ("Coffee Card", "hybrid")
        assert [r["name"] for r in body["rewards"]] == ["Croissant"]

    def test_no_program_is_404(self, staff_client):
        response = staff_client.get(BASE + "program")
        assert (response.status_code, error_of(response)["code"]) == (404, "PROGRAM_NOT_FOUND")

    def test_owner_creates_updates_and_deactivates(self, owner_client, merchant):
        created = owner_client.post(BASE + "program", {"name": "Bean Card", "loyalty_type": "stamps"}, format="json")
        again = owner_client.post(BASE + "program", {"name": "Second"}, format="json")
        updated = owner_client.patch(
            BASE + "program", {"stamps_target": 8, "background_color": "#112233"}, format="json"
        )
        deleted = owner_client.delete(BASE + "program")

        assert created.status_code == 201 and created.json()["name"] == "Bean Card"
        assert (again.status_code, error_of(again)["code"]) == (409, "PROGRAM_EXISTS")
        assert updated.status_code == 200 and updated.json()["stamps_target"] == 8
        assert deleted.status_code == 200 and deleted.json()["is_active"] is False
        program = Program.objects.get(merchant=merchant)
        assert (program.stamps_target, program.is_active) == (8, False)

    @pytest.mark.parametrize("client_name", ["staff_client", "manager_client"])
    def test_only_the_owner_changes_the_program(self, request, client_name, program):
        client = request.getfixturevalue(client_name)
        for response in (
            client.post(BASE + "program", {"name": "X"}, format="json"),
            client.patch(BASE + "program", {"name": "X"}, format="json"),
            client.delete(BASE + "program"),
        ):
            assert (response.status_code, error_of(response)["code"]) == (403, "PERMISSION_DENIED")
        program.refresh_from_db()
        assert (program.name, program.is_active) == ("Coffee Card", True)

    @pytest.mark.parametrize(
        "body", [{"stamps_target": 0}, {"background_color": "red"}, {"loyalty_type": "cash"}, {"name": ""}]
    )
    def test_invalid_values_are_400(self, owner_client, program, body):
        response = owner_client.patch(BASE + "program", body, format="json")
        assert (response.status_code, error_of(response)["code"]) == (400, "VALIDATION_ERROR")
        assert set(error_of(response)["details"]) == set(body)

    def test_the_other_merchants_program_is_never_touched(self, other_owner_client, program):
        other_owner_client.patch(BASE + "program", {"name": "Hijack"}, format="json")
        program.refresh_from_db()
        assert program.name == "Coffee Card"


@pytest.mark.django_db
class TestPins:
    def test_manager_creates_lists_updates_unlocks_deletes(self, manager_client, store, program):
        created = manager_client.post(
            BASE + "pins", {"name": "Alex", "pin": "2580", "staff_number": "7"}, format="json"
        )
        assert created.status_code == 201
        pin_id = created.json()["id"]
        listed = manager_client.get(BASE + "pins").json()
        renamed = manager_client.patch(f"{BASE}pins/{pin_id}", {"name": "Alexandra", "pin": "9753"}, format="json")
        StaffPin.objects.filter(pk=pin_id).update(failed_attempts=5)
        unlocked = manager_client.post(f"{BASE}pins/{pin_id}/unlock")
        deleted = manager_client.delete(f"{BASE}pins/{pin_id}")

        assert [p["name"] for p in listed["results"]] == ["Alex"] and listed["results"][0]["store"] == store.code
        assert renamed.status_code == 200 and renamed.json()["name"] == "Alexandra"
        assert unlocked.status_code == 200 and unlocked.json()["failed_attempts"] == 0
        assert deleted.json() == {"id": pin_id, "deleted": True}
        for response in (created, renamed, unlocked):
            text = response.content.decode()
            assert "pin_hash" not in text and "lookup_digest" not in text and "2580" not in text and "9753" not in text

    def test_pin_in_use_or_malformed_is_400(self, manager_client, store, program):
        factories.make_pin(store, "2580")
        taken = manager_client.post(BASE + "pins", {"name": "B", "pin": "2580"}, format="json")
        letters = manager_client.post(BASE + "pins", {"name": "B", "pin": "12ab"}, format="json")
        assert (taken.status_code, error_of(taken)["code"]) == (400, "VALIDATION_ERROR")
        assert (letters.status_code, error_of(letters)["code"]) == (400, "VALIDATION_ERROR")

    def test_staff_may_not_manage_pins(self, staff_client, store, program):
        staff_pin = factories.make_pin(store, "2580")
        for response in (
            staff_client.get(BASE + "pins"),
            staff_client.post(BASE + "pins", {"name": "B", "pin": "1357"}, format="json"),
            staff_client.patch(f"{BASE}pins/{staff_pin.pk}", {"name": "Mallory"}, format="json"),
            staff_client.delete(f"{BASE}pins/{staff_pin.pk}"),
            staff_client.post(f"{BASE}pins/{staff_pin.pk}/unlock"),
        ):
            assert (response.status_code, error_of(response)["code"]) == (403, "PERMISSION_DENIED")
        staff_pin.refresh_from_db()
        assert staff_pin.name != "Mallory" and staff_pin.is_active

    def test_pin_of_another_store_or_merchant_is_404_and_unchanged(self, owner_client, merchant, program, other_store):
        same_merchant_other_store = factories.make_pin(factories.make_store(merchant), "2580")
        other_merchant_pin = factories.make_pin(other_store, "2580")
        for staff_pin in (same_merchant_other_store, other_merchant_pin):
            for response in (
                owner_client.patch(f"{BASE}pins/{staff_pin.pk}", {"name": "Mallory"}, format="json"),
                owner_client.delete(f"{BASE}pins/{staff_pin.pk}"),
                owner_client.post(f"{BASE}pins/{staff_pin.pk}/unlock"),
            ):
                assert (response.status_code, error_of(response)["code"]) == (404, "STAFF_PIN_NOT_FOUND")
            staff_pin.refresh_from_db()
            assert staff_pin.name != "Mallory" and staff_pin.is_active
        assert owner_client.get(BASE + "pins").json()["count"] == 0

    def test_a_locked_store_shows_on_every_pin_until_a_manager_unlocks(
        self, manager_client, staff_client, store, program, card
    ):
        # given: two PINs, and five wrong PINs at the till lock the store's PIN entry
        alex, sam = factories.make_pin(store, "2580", name="Alex"), factories.make_pin(store, "1357", name="Sam")
        for _ in range(5):
            staff_client.post(BASE + "stamp", {"card_id": card.pk, "staff_pin": "9999"}, format="json")
        refused = staff_client.post(BASE + "stamp", {"card_id": card.pk, "staff_pin": "2580"}, format="json")
        assert error_of(refused)["code"] == "STAFF_PIN_LOCKED"
        locked_until = error_of(refused)["details"]["locked_until"]

        # when: the manager looks at the PINs
        listed = {row["name"]: row for row in manager_client.get(BASE + "pins").json()["results"]}

        # then: each PIN is refused until the store's lockout ends; its own count is untouched
        for name in ("Alex", "Sam"):
            assert (listed[name]["is_locked"], listed[name]["locked_until"]) == (True, locked_until)
            assert listed[name]["failed_attempts"] == 0

        # when: the manager unlocks one of them, the store opens for every PIN
        unlocked = manager_client.post(f"{BASE}pins/{sam.pk}/unlock").json()
        listed = manager_client.get(BASE + "pins").json()["results"]
        assert (unlocked["is_locked"], unlocked["locked_until"]) == (False, None)
        assert [(row["is_locked"], row["locked_until"]) for row in listed] == [(False, None), (False, None)]
        stamped = staff_client.post(BASE + "stamp", {"card_id": card.pk, "staff_pin": "2580"}, format="json")
        assert stamped.status_code == 201
        assert LoyaltyTransaction.objects.get(pk=stamped.json()["transaction_id"]).staff_pin_id == alex.pk

    def test_unlock_also_clears_the_store_lockout(self, manager_client, store, program):
        staff_pin = factories.make_pin(store, "2580")
        StorePinGuard.objects.create(store=store, failed_attempts=5)
        manager_client.post(f"{BASE}pins/{staff_pin.pk}/unlock")
        assert StorePinGuard.objects.get(store=store).failed_attempts == 0


@pytest.mark.django_db
class TestStats:
    def test_any_member_reads_program_stats(self, staff_client, program, card):
        body = staff_client.get(BASE + "stats").json()
        assert (body["program_id"], body["cards_total"]) == (program.pk, 1)
        assert len(body["daily"]) == 30

    def test_merchant_stats_are_for_the_owner_only(
        self, staff_client, manager_client, owner_client, merchant, program, card
    ):
        assert staff_client.get(BASE + "stats/merchant").status_code == 403
        assert manager_client.get(BASE + "stats/merchant").status_code == 403
        body = owner_client.get(BASE + "stats/merchant").json()
        assert (body["merchant_id"], body["cards_total"]) == (merchant.pk, 1)

    def test_stats_never_mix_merchants(self, other_owner_client, program, card):
        body = other_owner_client.get(BASE + "stats/merchant").json()
        assert body["cards_total"] == 0


@pytest.mark.django_db
class TestTokens:
    def test_admin_token_cannot_use_the_store_api(self, admin_client, program):
        response = admin_client.get(BASE + "program")
        assert (response.status_code, error_of(response)["code"]) == (403, "PERMISSION_DENIED")

    def test_no_or_bad_token_is_401(self, anonymous, program):
        response = anonymous.get(BASE + "program")
        assert (response.status_code, error_of(response)["code"]) == (401, "NOT_AUTHENTICATED")
        anonymous.credentials(HTTP_AUTHORIZATION="Token not-a-key")
        assert anonymous.get(BASE + "program").status_code == 401

    def test_revoked_token_is_401(self, staff_client, program):
        assert staff_client.delete("/api/v1/auth/token").status_code == 204
        assert staff_client.get(BASE + "program").status_code == 401

    def test_token_endpoint_issues_for_a_store(self, anonymous, staff_user, store):
        response = anonymous.post(
            "/api/v1/auth/token",
            {"username": staff_user.username, "password": "pass-1234-word", "store_code": store.code},
            format="json",
        )
        assert response.status_code == 201 and response.json()["role"] == "staff"
        wrong = anonymous.post(
            "/api/v1/auth/token",
            {"username": staff_user.username, "password": "nope", "store_code": store.code},
            format="json",
        )
        assert (wrong.status_code, error_of(wrong)["code"]) == (401, "NOT_AUTHENTICATED")

    def test_staff_of_one_store_gets_no_token_for_another(self, anonymous, merchant, store):
        elsewhere = factories.make_store(merchant)
        user = factories.make_user("staff", merchant, stores=[store])
        response = anonymous.post(
            "/api/v1/auth/token",
            {"username": user.username, "password": "pass-1234-word", "store_code": elsewhere.code},
            format="json",
        )
        assert (response.status_code, error_of(response)["code"]) == (403, "PERMISSION_DENIED")
        # and a token for the right store keeps working
        assert client_for(user, store).get(BASE + "cards").status_code == 200
