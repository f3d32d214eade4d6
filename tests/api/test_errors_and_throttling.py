"""Whatever the request, the answer is JSON in the one error shape; throttles answer 429 with Retry-After."""

import pytest
from django.test import RequestFactory

from loyalty.models import LoyaltyCard, LoyaltyTransaction
from loyalty_site.api.exceptions import handler404, handler500
from staff.models import ApiToken
from tests import factories
from tests.api.conftest import client_for, error_of
from tests.support.resources import redis_delete_prefixed, redis_key_prefix, redis_url_for_tests

BASE = "/api/v1/store/loyalty/"


@pytest.mark.django_db
class TestMalformedInput:
    @pytest.mark.parametrize(
        "raw",
        ['{"card_id": 1,', "[1, 2]", '"a string"', "null", "12", '{"card_id": NaN}', "\x00\xff"],
        ids=["truncated", "list", "string", "null", "number", "nan", "binary"],
    )
    def test_bodies_that_are_not_an_object_are_400(self, staff_client, program, card, raw):
        response = staff_client.generic("POST", BASE + "stamp", raw, content_type="application/json")
        assert (response.status_code, error_of(response)["code"]) == (400, "VALIDATION_ERROR")
        card.refresh_from_db()
        assert card.stamp_count == 0

    @pytest.mark.parametrize(
        "body, field",
        [
            ({"card_id": "abc"}, "card_id"),
            ({"card_id": 10**30}, "card_id"),
            ({"card_id": 1.5}, "card_id"),
            ({"card_id": [1]}, "card_id"),
            ({"qr_code": {"a": 1}}, "qr_code"),
            ({"qr_code": "x" * 65}, "qr_code"),
            ({"qr_code": "ab\x00cd"}, "qr_code"),
        ],
    )
    def test_wrong_types_and_huge_values_are_field_errors(self, staff_client, program, body, field):
        response = staff_client.post(BASE + "stamp", body, format="json")
        assert (response.status_code, error_of(response)["code"]) == (400, "VALIDATION_ERROR")
        assert field in error_of(response)["details"]

    @pytest.mark.parametrize("amount", [10**30, -5, 0, "12.50", 1e308, True])
    def test_purchase_amounts_out_of_range_are_400(self, staff_client, program, card, amount):
        response = staff_client.post(
            BASE + "points/earn", {"card_id": card.pk, "purchase_amount_cents": amount}, format="json"
        )
        assert (response.status_code, error_of(response)["code"]) == (400, "VALIDATION_ERROR")
        assert "purchase_amount_cents" in error_of(response)["details"]

    def test_huge_json_number_literal_is_400(self, staff_client, program, card):
        raw = '{"card_id": %d, "purchase_amount_cents": 1e400}' % card.pk
        response = staff_client.generic("POST", BASE + "points/earn", raw, content_type="application/json")
        assert (response.status_code, error_of(response)["code"]) == (400, "VALIDATION_ERROR")

    def test_missing_fields_are_listed(self, staff_client, program):
        response = staff_client.post(BASE + "points/redeem", {"card_id": 1}, format="json")
        assert error_of(response)["details"] == {"reward_id": ["This field is required."]}

    def test_form_encoded_body_is_415(self, staff_client, program, card):
        response = staff_client.generic(
            "POST", BASE + "stamp", f"card_id={card.pk}", content_type="application/x-www-form-urlencoded"
        )
        assert (response.status_code, error_of(response)["code"]) == (415, "UNSUPPORTED_MEDIA_TYPE")

    def test_wrong_method_is_405_json(self, staff_client, program):
        response = staff_client.get(BASE + "stamp")
        assert (response.status_code, error_of(response)["code"]) == (405, "METHOD_NOT_ALLOWED")

    def test_search_with_a_nul_byte_is_400(self, staff_client, program):
        response = staff_client.get(BASE + "cards", {"search": "a\x00b"})
        assert (response.status_code, error_of(response)["code"]) == (400, "VALIDATION_ERROR")


@pytest.mark.django_db
class TestUnknownUrls:
    @pytest.mark.parametrize("method", ["GET", "POST", "PUT", "DELETE"])
    @pytest.mark.parametrize("path", ["/api/nope", "/api/v1/store/loyalty/stamp/", "/api/v1/store/loyalty/nope/deeper"])
    def test_unknown_api_paths_are_json_404_never_a_redirect(self, anonymous, method, path, settings):
        settings.DEBUG = True  # even where Django would show its debug page
        response = anonymous.generic(method, path, "{}", content_type="application/json")
        assert (response.status_code, error_of(response)["code"]) == (404, "NOT_FOUND")

    def test_handlers_answer_json_for_api_and_html_elsewhere(self):
        factory = RequestFactory()
        api_404 = handler404(factory.get("/api/whatever"), Exception())
        api_500 = handler500(factory.get("/api/whatever"))
        page_404 = handler404(factory.get("/somewhere"), Exception())
        assert (api_404.status_code, api_404["Content-Type"]) == (404, "application/json")
        assert (api_500.status_code, api_500["Content-Type"]) == (500, "application/json")
        assert page_404["Content-Type"].startswith("text/html")

    def test_an_unexpected_error_is_a_json_500(self, staff_client, program, card, monkeypatch):
        import loyalty.api.views.store as store_views

        def broken(**kwargs):
            raise RuntimeError("boom")

        monkeypatch.setattr(store_views, "card_get", broken)
        response = staff_client.get(f"{BASE}cards/{card.pk}")
        assert (response.status_code, error_of(response)["code"]) == (500, "SERVER_ERROR")
        assert "boom" not in response.content.decode()


def _rates(settings, **rates):
    settings.REST_FRAMEWORK = {
        **settings.REST_FRAMEWORK,
        "DEFAULT_THROTTLE_RATES": {**settings.REST_FRAMEWORK["DEFAULT_THROTTLE_RATES"], **rates},
    }


@pytest.mark.django_db
class TestThrottling:
    def test_scan_operations_are_limited_per_token(self, settings, staff_user, store, program, card):
        _rates(settings, scan="2/min")
        first, second = client_for(staff_user, store), client_for(staff_user, store)

        answers = [first.get(BASE + "cards").status_code for _ in range(2)]
        throttled = first.post(BASE + "stamp", {"card_id": card.pk}, format="json")

        assert answers == [200, 200]
        assert (throttled.status_code, error_of(throttled)["code"]) == (429, "THROTTLED")
        assert 1 <= int(throttled["Retry-After"]) <= 60
        assert error_of(throttled)["details"]["retry_after_seconds"] == int(throttled["Retry-After"])
        assert LoyaltyCard.objects.get(pk=card.pk).stamp_count == 0  # refused before anything ran
        assert second.get(BASE + "cards").status_code == 200  # another token has its own budget

    def test_login_is_limited_per_ip(self, settings, anonymous, merchant, staff_user, store):
        _rates(settings, login="2/min")
        colleague = factories.make_user("staff", merchant, stores=[store])
        body = {"username": staff_user.username, "password": "wrong", "store_code": store.code}
        codes = [anonymous.post("/api/v1/auth/token", body, format="json").status_code for _ in range(3)]
        assert codes == [401, 401, 429]
        other_ip = anonymous.post(
            "/api/v1/auth/token", {**body, "username": colleague.username}, format="json", REMOTE_ADDR="198.51.100.1"
        )
        assert other_ip.status_code == 401

    def test_login_failures_are_limited_per_username_from_any_address(self, settings, anonymous, staff_user, store):
        _rates(settings, login="2/hour")
        wrong = {"username": staff_user.username, "password": "wrong", "store_code": store.code}
        right = {**wrong, "password": factories.PASSWORD}
        failures = [
            anonymous.post("/api/v1/auth/token", wrong, format="json", REMOTE_ADDR=f"198.51.100.{number}")
            for number in (1, 2)
        ]
        refused = anonymous.post("/api/v1/auth/token", right, format="json", REMOTE_ADDR="198.51.100.3")

        assert [response.status_code for response in failures] == [401, 401]
        assert (refused.status_code, error_of(refused)["code"]) == (429, "THROTTLED")
        assert 1 <= int(refused["Retry-After"]) <= 3600
        assert not ApiToken.objects.filter(user=staff_user).exists()

    def test_successful_logins_do_not_lock_the_username(self, settings, anonymous, staff_user, store):
        _rates(settings, login="2/hour")
        right = {"username": staff_user.username, "password": factories.PASSWORD, "store_code": store.code}
        codes = [
            anonymous.post("/api/v1/auth/token", right, format="json", REMOTE_ADDR=f"198.51.100.{number}").status_code
            for number in range(1, 5)
        ]
        assert codes == [201, 201, 201, 201]

    def test_public_enrollment_and_reads_are_limited_per_ip(self, settings, anonymous, store, program):
        _rates(settings, enroll="1/hour", public="2/min")
        body = {"email": "a@example.com", "full_name": "A", "accept_terms": True}
        enroll = [
            anonymous.post(
                f"/api/v1/loyalty/enroll/{store.code}", {**body, "email": f"p{i}@example.com"}, format="json"
            )
            for i in range(2)
        ]
        reads = [anonymous.get(f"/api/v1/loyalty/programs/{store.code}").status_code for _ in range(3)]

        assert [r.status_code for r in enroll] == [201, 429]
        assert int(enroll[1]["Retry-After"]) <= 3600
        assert reads == [200, 200, 429]
        assert LoyaltyTransaction.objects.filter(type="CARD_ENROLLED").count() == 1

    def test_throttle_behind_a_proxy_counts_the_forwarded_client(self, settings, anonymous, store, program):
        _rates(settings, public="1/min")
        settings.TRUSTED_PROXY_COUNT = 1
        url = f"/api/v1/loyalty/programs/{store.code}"
        assert anonymous.get(url, HTTP_X_FORWARDED_FOR="203.0.113.1").status_code == 200
        assert anonymous.get(url, HTTP_X_FORWARDED_FOR="203.0.113.2").status_code == 200
        assert anonymous.get(url, HTTP_X_FORWARDED_FOR="9.9.9.9, 203.0.113.1").status_code == 429


@pytest.mark.django_db
@pytest.mark.redis
def test_throttle_counts_are_shared_through_redis(settings, staff_user, store, program):
    """Two processes share a Redis cache; the counter is one atomic INCR there.

    The Redis is ``TEST_REDIS_URL``'s, under this run's key prefix: only this run's keys are read and deleted.
    """
    import redis as redis_client

    url, prefix = redis_url_for_tests(), redis_key_prefix()
    settings.CACHES = {
        "default": {"BACKEND": "django.core.cache.backends.redis.RedisCache", "LOCATION": url, "KEY_PREFIX": prefix}
    }
    _rates(settings, scan="3/min")
    client = client_for(staff_user, store)
    try:
        codes = [client.get(BASE + "cards").status_code for _ in range(4)]
        assert codes == [200, 200, 200, 429]
        keys = redis_client.Redis.from_url(url).keys(f"{prefix}*throttle:scan*")
        assert len(keys) == 1
    finally:
        redis_delete_prefixed(url, prefix)
