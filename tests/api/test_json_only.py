"""The API answers JSON whatever the client asks for: never an HTML page, never a 500 after a write.

DRF's browsable (HTML) renderer used to answer ``Accept: text/html`` and
``?format=api``; it fails on our viewsets (they have no serializer class), so
the write was committed and the client got a 500. A till retrying after that
500 without an order reference booked twice.
"""

import pytest

from loyalty.models import Customer, LoyaltyCard, LoyaltyTransaction, TransactionType
from tests.api.conftest import error_of

STORE = "/api/v1/store/loyalty/"

# What a browser, a mistaken client or a curious visitor may send.
ASKS = {
    "accept-html": ({"HTTP_ACCEPT": "text/html"}, ""),
    "accept-browser": ({"HTTP_ACCEPT": "text/html,application/xhtml+xml,application/xml;q=0.9,*/*;q=0.8"}, ""),
    "accept-xml": ({"HTTP_ACCEPT": "application/xml"}, ""),
    "accept-garbage": ({"HTTP_ACCEPT": "no/such; q=x, , ;;"}, ""),
    "format-api": ({}, "?format=api"),
    "format-xml": ({}, "?format=xml"),
    "format-html-and-accept-html": ({"HTTP_ACCEPT": "text/html"}, "?format=html"),
}


def assert_json(response, status_code: int) -> dict:
    assert response.status_code == status_code, (response.status_code, response.content[:300])
    assert response["Content-Type"] == "application/json", response["Content-Type"]
    return response.json()


@pytest.mark.django_db
@pytest.mark.parametrize("ask", ASKS.values(), ids=ASKS.keys())
class TestWhateverTheClientAsks:
    def test_an_earn_is_booked_once_and_answered_in_json(self, staff_client, program, card, ask):
        headers, query = ask

        response = staff_client.post(
            STORE + "points/earn" + query, {"card_id": card.pk, "purchase_amount_cents": 1250}, format="json", **headers
        )

        body = assert_json(response, 201)
        earned = LoyaltyTransaction.objects.filter(card=card, type=TransactionType.POINTS_EARNED)
        assert [transaction.pk for transaction in earned] == [body["transaction_id"]]
        card.refresh_from_db()
        assert card.points_balance == 125

    def test_a_public_enrollment_makes_one_card_and_answers_in_json(self, anonymous, store, program, ask):
        headers, query = ask
        body = {"email": "html@example.com", "full_name": "Html Visitor", "accept_terms": True}

        response = anonymous.post(f"/api/v1/loyalty/enroll/{store.code}{query}", body, format="json", **headers)

        assert set(assert_json(response, 201)) >= {"card_url"}
        assert LoyaltyCard.objects.filter(customer__email="html@example.com").count() == 1

    def test_reads_answer_in_json(self, owner_client, anonymous, store, program, card, ask):
        headers, query = ask
        reads = [
            (owner_client, STORE + "program" + query),
            (owner_client, STORE + "pins" + query),
            (owner_client, STORE + "cards" + query),
            (anonymous, f"/api/v1/loyalty/programs/{store.code}{query}"),
        ]
        for client, url in reads:
            assert_json(client.get(url, **headers), 200)
        lookup = STORE + "cards/lookup" + (query + "&" if query else "?") + f"q={card.card_number}"
        assert assert_json(owner_client.get(lookup, **headers), 200)["card"]["id"] == card.pk

    def test_errors_are_in_the_one_shape(self, staff_client, anonymous, store, program, card, ask):
        headers, query = ask
        before = LoyaltyTransaction.objects.count(), Customer.objects.count()

        unauthenticated = anonymous.post(STORE + "stamp" + query, {"card_id": card.pk}, format="json", **headers)
        invalid = staff_client.post(STORE + "points/earn" + query, {"card_id": card.pk}, format="json", **headers)
        refused = anonymous.post(f"/api/v1/loyalty/enroll/{store.code}{query}", {}, format="json", **headers)

        assert (unauthenticated.status_code, error_of(unauthenticated)["code"]) == (401, "NOT_AUTHENTICATED")
        assert (invalid.status_code, error_of(invalid)["code"]) == (400, "VALIDATION_ERROR")
        assert (refused.status_code, error_of(refused)["code"]) == (400, "VALIDATION_ERROR")
        assert (LoyaltyTransaction.objects.count(), Customer.objects.count()) == before

    def test_the_login_answers_in_json(self, anonymous, staff_user, store, ask):
        from tests.factories import PASSWORD

        headers, query = ask
        body = {"username": staff_user.username, "password": PASSWORD, "store_code": store.code}

        response = anonymous.post("/api/v1/auth/token" + query, body, format="json", **headers)

        assert assert_json(response, 201)["token"]


@pytest.mark.django_db
class TestTheDocumentKeepsItsFormats:
    def test_the_schema_is_yaml_by_default_and_json_on_request(self, anonymous):
        yaml = anonymous.get("/api/schema")
        json_document = anonymous.get("/api/schema", {"format": "json"})

        assert yaml.status_code == 200 and yaml["Content-Type"].startswith("application/vnd.oai.openapi")
        assert yaml.content.startswith(b"openapi:")
        assert json_document.status_code == 200 and json_document.json()["openapi"].startswith("3.")

    @pytest.mark.parametrize("ask", ASKS.values(), ids=ASKS.keys())
    def test_the_schema_and_the_docs_never_fail_whatever_is_asked(self, anonymous, ask):
        headers, query = ask

        schema = anonymous.get("/api/schema" + query, **headers)
        docs = anonymous.get("/api/docs" + query, **headers)

        assert schema.status_code == 200 and schema.content.startswith(b"openapi:"), schema.content[:200]
        assert docs.status_code == 200 and docs["Content-Type"].startswith("text/html")
        assert b"swagger-ui" in docs.content
