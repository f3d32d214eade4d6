"""Cards over HTTP: search, detail, history, scanner lookup, enrollment, (de)activation, the ledger list."""

from datetime import timedelta

import pytest
from django.utils import timezone

from loyalty.domain.cards import CardRef
from loyalty.models import Alert, AlertRule, AlertSeverity, AlertStatus, LoyaltyCard, LoyaltyTransaction
from loyalty.services.cards import card_deactivate
from tests import factories
from tests.api.conftest import client_for, error_of

BASE = "/api/v1/store/loyalty/"


@pytest.mark.django_db
class TestList:
    def test_search_by_name_email_and_number_within_the_merchant(
        self, staff_client, store, program, other_store, other_program
    ):
        lea = factories.make_card(store, email="lea@example.com")
        factories.make_card(store, email="tom@example.com")
        factories.make_card(other_store, email="lea@other.example.com")

        by_email = staff_client.get(BASE + "cards", {"search": "lea@"}).json()
        by_number = staff_client.get(BASE + "cards", {"search": lea.card_number}).json()
        everything = staff_client.get(BASE + "cards").json()

        assert [card["id"] for card in by_email["results"]] == [lea.pk]
        assert [card["id"] for card in by_number["results"]] == [lea.pk]
        assert everything["count"] == 2  # never the other merchant's card
        assert "qr_code_data" not in str(everything) and lea.qr_code_data not in str(everything)

    def test_filters_active_and_enrolled_here(self, staff_client, merchant, store, program):
        elsewhere = factories.make_store(merchant)
        here = factories.make_card(store)
        there = factories.make_card(elsewhere)
        LoyaltyCard.objects.filter(pk=there.pk).update(is_active=False)

        enrolled_here = staff_client.get(BASE + "cards", {"enrolled_here": "true"}).json()
        inactive = staff_client.get(BASE + "cards", {"is_active": "false"}).json()

        assert [card["id"] for card in enrolled_here["results"]] == [here.pk]
        assert [card["id"] for card in inactive["results"]] == [there.pk]

    def test_pagination_shape_and_page_size_cap(self, staff_client, store, program):
        for _ in range(3):
            factories.make_card(store)
        first = staff_client.get(BASE + "cards", {"page_size": 2}).json()
        second = staff_client.get(BASE + "cards", {"page_size": 2, "page": 2}).json()
        huge = staff_client.get(BASE + "cards", {"page_size": 100000})

        assert set(first) == {"count", "next", "previous", "results"}
        assert (first["count"], len(first["results"]), first["previous"]) == (3, 2, None)
        assert "page=2" in first["next"] and second["next"] is None and len(second["results"]) == 1
        assert huge.status_code == 200 and len(huge.json()["results"]) == 3
        assert staff_client.get(BASE + "cards", {"page": 99}).status_code == 404


@pytest.mark.django_db
class TestDetailAndHistory:
    def test_detail(self, staff_client, program, card):
        body = staff_client.get(f"{BASE}cards/{card.pk}").json()
        assert body["id"] == card.pk and body["program"]["name"] == "Coffee Card"
        assert body["reward_description"] == "Free coffee"
        assert body["wallet"] == {
            "apple_pass_issued": False,
            "apple_devices_registered": 0,
            "google_wallet_saved": False,
            "needs_sync": False,
        }
        assert body["created_at"][-6] in "+-"  # ISO 8601 with an offset
        for secret in (card.qr_code_data, card.public_token):
            assert secret not in str(body)

    def test_wallet_flags_follow_the_wallet_rows(self, staff_client, program, card):
        from django.utils import timezone

        from wallet.models import AppleDeviceRegistration, ApplePass, GoogleWalletObject

        apple_pass = ApplePass.objects.create(
            card=card, serial_number="S1", authentication_token="t" * 32, changed_at=timezone.now()
        )
        AppleDeviceRegistration.objects.create(apple_pass=apple_pass, device_library_identifier="d1", push_token="p1")
        AppleDeviceRegistration.objects.create(
            apple_pass=apple_pass, device_library_identifier="d2", push_token="p2", unregistered_at=timezone.now()
        )
        GoogleWalletObject.objects.create(card=card, object_id="issuer.card-1")

        body = staff_client.get(f"{BASE}cards/{card.pk}").json()

        assert body["wallet"] == {
            "apple_pass_issued": True,
            "apple_devices_registered": 1,
            "google_wallet_saved": True,
            "needs_sync": False,
        }
        assert "S1" not in str(body) and "t" * 32 not in str(body) and "issuer.card-1" not in str(body)

    def test_history_newest_first(self, staff_client, program, card):
        staff_client.post(BASE + "points/earn", {"card_id": card.pk, "purchase_amount_cents": 100}, format="json")
        body = staff_client.get(f"{BASE}cards/{card.pk}/transactions").json()
        assert [row["type"] for row in body["results"]] == ["POINTS_EARNED", "CARD_ENROLLED"]

    @pytest.mark.parametrize("suffix", ["", "/transactions"])
    def test_card_of_another_merchant_is_404(self, staff_client, program, other_card, suffix):
        response = staff_client.get(f"{BASE}cards/{other_card.pk}{suffix}")
        assert (response.status_code, error_of(response)["code"]) == (404, "CARD_NOT_FOUND")

    def test_huge_or_non_numeric_id_is_a_json_404(self, staff_client, program):
        for path in ("cards/99999999999999999999999", "cards/abc", "cards/1/nope"):
            response = staff_client.get(BASE + path)
            assert (response.status_code, error_of(response)["code"]) == (404, "NOT_FOUND")


@pytest.mark.django_db
class TestLookup:
    def test_get_by_number_qr_or_email_gives_the_scanner_view(self, staff_client, program, reward, store):
        card = factories.make_card(store, email="Lea@Example.com")
        factories.make_reward(program, "Big", 10_000)
        LoyaltyCard.objects.filter(pk=card.pk).update(points_balance=150, stamp_count=10)

        for query in (card.card_number, card.qr_code_data, "lea@example.com"):
            response = staff_client.get(BASE + "cards/lookup", {"q": query})
            assert response.status_code == 200, query
            body = response.json()
            assert body["card"]["id"] == card.pk
            assert body["balances"] == {
                "stamp_count": 10,
                "stamps_target": 10,
                "stamps_until_reward": 0,
                "points_balance": 150,
            }
            assert (body["can_stamp"], body["cooldown_ends_at"], body["stamps_today"], body["max_daily_stamps"]) == (
                True,
                None,
                0,
                5,
            )
            assert body["can_redeem_stamps"] is True
            assert [r["name"] for r in body["available_rewards"]] == ["Croissant"]

    def test_the_view_flags_an_open_alert_and_only_an_open_one(self, staff_client, program, card, store):
        def flag():
            body = staff_client.get(BASE + "cards/lookup", {"q": card.card_number}).json()
            return body["has_open_alert"]

        assert flag() is False
        alert = Alert.objects.create(
            merchant=card.merchant,
            rule=AlertRule.BUSY_CARD,
            severity=AlertSeverity.MEDIUM,
            card=card,
            store=store,
            subject_key=f"card:{card.pk}",
            window_start_at=timezone.now(),
            window_end_at=timezone.now(),
            evidence={"operations": 6, "limit": 5, "transaction_ids": []},
        )
        body = staff_client.get(BASE + "cards/lookup", {"q": card.card_number}).json()
        assert body["has_open_alert"] is True
        assert "alert" not in body["card"] and "evidence" not in str(body)  # a flag, not the details
        Alert.objects.filter(pk=alert.pk).update(status=AlertStatus.DISMISSED)
        assert flag() is False

    def test_after_a_stamp_the_view_shows_the_cooldown(self, staff_client, program, card):
        stamped = staff_client.post(BASE + "stamp", {"card_id": card.pk}, format="json").json()
        body = staff_client.post(BASE + "cards/lookup", {"card_id": card.pk}, format="json").json()
        assert body["can_stamp"] is False and body["stamps_today"] == 1
        assert body["cooldown_ends_at"] == stamped["next_stamp_available_at"]

    def test_daily_limit_reached_blocks_can_stamp(self, staff_client, merchant, store):
        factories.make_program(merchant, cooldown_minutes=0, max_daily_stamps=1)
        card = factories.make_card(store)
        staff_client.post(BASE + "stamp", {"card_id": card.pk}, format="json")
        body = staff_client.get(BASE + "cards/lookup", {"q": card.card_number}).json()
        assert (body["can_stamp"], body["cooldown_ends_at"], body["stamps_today"]) == (False, None, 1)

    def test_other_merchants_card_is_not_found(self, staff_client, program, other_card):
        for query in (other_card.card_number, other_card.qr_code_data, other_card.customer.email):
            response = staff_client.get(BASE + "cards/lookup", {"q": query})
            assert (response.status_code, error_of(response)["code"]) == (404, "CARD_NOT_FOUND")
        response = staff_client.post(BASE + "cards/lookup", {"card_id": other_card.pk}, format="json")
        assert response.status_code == 404

    def test_missing_query_is_400(self, staff_client, program):
        response = staff_client.get(BASE + "cards/lookup")
        assert (response.status_code, error_of(response)["code"]) == (400, "VALIDATION_ERROR")
        assert "q" in error_of(response)["details"]


@pytest.mark.django_db
class TestEnroll:
    def test_enroll_at_the_token_store(self, staff_client, store, program):
        response = staff_client.post(
            BASE + "cards/enroll", {"email": "new@example.com", "full_name": "New"}, format="json"
        )
        assert response.status_code == 201
        body = response.json()
        card = LoyaltyCard.objects.get(pk=body["id"])
        assert card.enrolled_store == store and body["customer"]["email"] == "new@example.com"
        assert LoyaltyTransaction.objects.get(pk=body["transaction_id"]).type == "CARD_ENROLLED"

    def test_enroll_with_a_birthday_stores_day_and_month(self, staff_client, store, program):
        response = staff_client.post(
            BASE + "cards/enroll",
            {"email": "bday@example.com", "birthday_day": 29, "birthday_month": 2},
            format="json",
        )
        assert response.status_code == 201
        customer = LoyaltyCard.objects.get(pk=response.json()["id"]).customer
        assert (customer.birthday_day, customer.birthday_month) == (29, 2)

    @pytest.mark.parametrize("birthday", [{"birthday_day": 31, "birthday_month": 4}, {"birthday_day": 5}])
    def test_a_birthday_that_does_not_exist_or_lacks_its_month_is_400_and_enrolls_nobody(
        self, staff_client, store, program, birthday
    ):
        response = staff_client.post(BASE + "cards/enroll", {"email": "bday@example.com", **birthday}, format="json")
        assert (response.status_code, error_of(response)["code"]) == (400, "VALIDATION_ERROR")
        assert "birthday_day" in error_of(response)["details"]
        assert not LoyaltyCard.objects.filter(customer__email="bday@example.com").exists()

    def test_already_enrolled_is_409_with_the_card_id(self, staff_client, store, program, card):
        response = staff_client.post(BASE + "cards/enroll", {"email": card.customer.email.upper()}, format="json")
        assert (response.status_code, error_of(response)["code"]) == (409, "ALREADY_ENROLLED")
        assert error_of(response)["details"] == {"card_id": card.pk}

    def test_same_email_at_another_merchant_is_a_new_card(self, other_owner_client, program, card):
        response = other_owner_client.post(BASE + "cards/enroll", {"email": card.customer.email}, format="json")
        assert response.status_code == 201 and response.json()["id"] != card.pk

    def test_no_program_is_404(self, staff_client):
        response = staff_client.post(BASE + "cards/enroll", {"email": "x@example.com"}, format="json")
        assert (response.status_code, error_of(response)["code"]) == (404, "PROGRAM_NOT_FOUND")


@pytest.mark.django_db
class TestDeactivate:
    def test_manager_deactivates_and_reactivates(self, manager_client, program, card):
        off = manager_client.post(f"{BASE}cards/{card.pk}/deactivate", {"reason": "Lost"}, format="json")
        on = manager_client.post(f"{BASE}cards/{card.pk}/reactivate", {}, format="json")
        assert off.status_code == 201 and off.json()["is_active"] is False
        assert off.json()["deactivation_reason"] == "Lost"
        assert on.status_code == 201 and on.json()["is_active"] is True
        assert LoyaltyTransaction.objects.get(pk=off.json()["transaction_id"]).type == "CARD_DEACTIVATED"

    def test_staff_may_not(self, staff_client, program, card):
        response = staff_client.post(f"{BASE}cards/{card.pk}/deactivate", {"reason": "Lost"}, format="json")
        assert (response.status_code, error_of(response)["code"]) == (403, "PERMISSION_DENIED")
        card.refresh_from_db()
        assert card.is_active

    def test_reason_required(self, owner_client, program, card):
        response = owner_client.post(f"{BASE}cards/{card.pk}/deactivate", {}, format="json")
        assert (response.status_code, error_of(response)["code"]) == (400, "VALIDATION_ERROR")

    @pytest.mark.parametrize("verb", ["deactivate", "reactivate"])
    def test_a_manager_may_not_touch_a_card_of_a_store_they_are_not_assigned_to(
        self, manager_client, owner, merchant, program, verb
    ):
        # given a card whose home store is not the manager's (the back office shows them a 404 for it)
        card = factories.make_card(factories.make_store(merchant, code="alpha-airport"))
        if verb == "reactivate":
            card_deactivate(actor=owner, card_ref=CardRef(card_id=card.pk), reason="Lost")
        card.refresh_from_db()
        ledger = LoyaltyTransaction.objects.filter(card=card).count()

        response = manager_client.post(f"{BASE}cards/{card.pk}/{verb}", {"reason": "Taken over"}, format="json")

        assert (response.status_code, error_of(response)["code"]) == (404, "CARD_NOT_FOUND")
        unchanged = LoyaltyCard.objects.get(pk=card.pk)
        assert (unchanged.is_active, unchanged.deactivation_reason) == (card.is_active, card.deactivation_reason)
        assert LoyaltyTransaction.objects.filter(card=card).count() == ledger

    def test_a_manager_of_several_stores_manages_the_cards_of_each(self, merchant, store, program):
        station = factories.make_store(merchant, code="alpha-station")
        manager = factories.make_user("manager", merchant, stores=[store, station])
        card = factories.make_card(station)
        till = client_for(manager, store)  # signed in at the other of their stores

        response = till.post(f"{BASE}cards/{card.pk}/deactivate", {"reason": "Lost"}, format="json")

        assert response.status_code == 201 and response.json()["is_active"] is False

    def test_an_owner_manages_every_card_of_the_merchant(self, owner_client, merchant, program):
        card = factories.make_card(factories.make_store(merchant, code="alpha-airport"))
        response = owner_client.post(f"{BASE}cards/{card.pk}/deactivate", {"reason": "Lost"}, format="json")
        assert response.status_code == 201

    @pytest.mark.parametrize("verb", ["deactivate", "reactivate"])
    def test_card_of_another_merchant_is_404(self, owner_client, program, other_card, verb):
        response = owner_client.post(f"{BASE}cards/{other_card.pk}/{verb}", {"reason": "x"}, format="json")
        assert (response.status_code, error_of(response)["code"]) == (404, "CARD_NOT_FOUND")
        other_card.refresh_from_db()
        assert other_card.is_active and LoyaltyTransaction.objects.filter(card=other_card).count() == 1


@pytest.mark.django_db
class TestTransactions:
    def test_merchant_history_with_filters(self, staff_client, merchant, store, program, card, other_card):
        elsewhere = factories.make_store(merchant, code="alpha-station")
        factories.make_card(elsewhere)
        staff_client.post(BASE + "stamp", {"card_id": card.pk}, format="json")

        everything = staff_client.get(BASE + "transactions").json()
        stamps = staff_client.get(BASE + "transactions", {"type": "STAMP_EARNED"}).json()
        at_station = staff_client.get(BASE + "transactions", {"store": "alpha-station"}).json()
        foreign_store = staff_client.get(BASE + "transactions", {"store": "beta-shop"}).json()
        future = staff_client.get(
            BASE + "transactions", {"since": (timezone.now() + timedelta(hours=1)).isoformat()}
        ).json()
        past = staff_client.get(
            BASE + "transactions", {"until": (timezone.now() - timedelta(days=1)).isoformat()}
        ).json()

        assert everything["count"] == 3  # two enrollments and a stamp; never the other merchant's rows
        assert [row["type"] for row in stamps["results"]] == ["STAMP_EARNED"]
        assert [row["store"] for row in at_station["results"]] == ["alpha-station"]
        assert foreign_store["count"] == 0 and future["count"] == 0 and past["count"] == 0

    @pytest.mark.parametrize("query", [{"type": "NOPE"}, {"since": "yesterday"}, {"store": "not a slug!"}])
    def test_bad_filters_are_400(self, staff_client, program, query):
        response = staff_client.get(BASE + "transactions", query)
        assert (response.status_code, error_of(response)["code"]) == (400, "VALIDATION_ERROR")
