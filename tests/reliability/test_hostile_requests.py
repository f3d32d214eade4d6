"""Hand-written nasty requests: each is refused (or handled) in the one error shape, never a 500, and changes nothing.

What a hostile or broken client can send that a generator rarely does:
bodies past the upload limit, JSON nested 100,000 deep, lone surrogates and
NUL bytes, SQL-looking strings, numbers that are not quite integers,
duplicate keys, wrong content types, malformed Authorization headers, and
Apple web-service paths and headers that no iPhone sends. Every refusal is
checked for its status, its error code and that no card counter, ledger row,
PIN or token changed.

Paths go through Django's test client as a WSGI server would hand them over
(percent-escapes decoded, so ``%2F`` is a ``/``); header values are given as
the bytes on the wire read as latin-1 (PEP 3333), see ``wire()``.
"""

import json

import pytest
from django.test import Client

from loyalty.models import Customer, LoyaltyCard, LoyaltyTransaction, Program
from tests.reliability.hostile_support import (
    PASSWORD,
    STAFF_PIN,
    Snapshot,
    assert_error_shape,
    generous_throttles,  # noqa: F401 (fixture)
    world,  # noqa: F401 (fixture)
)
from tests.wallet.apple.conftest import apple_settings, dev_certificates  # noqa: F401 (fixtures)
from wallet.apple.services import apple_pass_get_or_create
from wallet.models import AppleDeviceRegistration

STORE = "/api/v1/store/loyalty/"
APPLE = "/api/v1/loyalty/apple/v1"
PASS_TYPE = "pass.dev.loyalty.local"
DEVICE = "a1b2c3d4e5f60718293a4b5c6d7e8f90"
SQL = ["' OR 1=1 --", '"; DROP TABLE loyalty_loyaltycard; --', "1; SELECT pg_sleep(10)", "%' UNION SELECT * --"]


def wire(text: str) -> str:
    """A header value as a WSGI server hands it over: the UTF-8 bytes on the wire, read as latin-1."""
    return text.encode("utf-8").decode("latin-1")


def error(response, status: int, code: str | None = None) -> dict:
    """Assert the status and the one error shape (and the code, when given); return the error."""
    assert response.status_code == status, (response.status_code, response.content[:300])
    body = assert_error_shape(response.status_code, response.get("Content-Type", ""), response.content)
    if code is not None:
        assert body["code"] == code, body
    return body


def send(client, method: str, path: str, raw, content_type: str = "application/json", **headers):
    return client.generic(method, path, raw, content_type=content_type, **headers)


def each(cases, check) -> None:
    """Run ``check`` on every case and report all the failing ones at once (one database world for all)."""
    failures = []
    for case in cases:
        try:
            check(case)
        except AssertionError as failure:
            failures.append(f"{case!r:.80}: {failure}")
    assert not failures, "\n".join(failures)


@pytest.fixture
def till(world) -> Client:
    """The owner's scanner app: every role check passes, so refusals come from validation, not roles."""
    return Client(HTTP_AUTHORIZATION=f"Token {world.owner_key}")


@pytest.fixture
def unchanged(world):
    """Assert, after the test, that nothing a refused request could touch has changed."""
    before = Snapshot.take()
    yield
    assert Snapshot.take() == before


def stamp_body(world, **fields) -> dict:
    return {"card_id": world.card_ids[1], "staff_pin": STAFF_PIN, **fields}


# --- Sizes and depth -----------------------------------------------------------------------------------------------


class TestOversizedBodies:
    @pytest.mark.parametrize("path", ["stamp", "points/earn", "cards/enroll", "pins"])
    def test_a_valid_body_padded_past_the_upload_limit_is_413(self, settings, till, world, unchanged, path):
        # JSON the endpoint would accept, made larger than the limit by whitespace alone.
        settings.DATA_UPLOAD_MAX_MEMORY_SIZE = 64 * 1024
        body = json.dumps(stamp_body(world, purchase_amount_cents=100, email="new@example.com", name="N", pin="9753"))
        error(send(till, "POST", STORE + path, body + " " * (64 * 1024)), 413, "REQUEST_TOO_LARGE")

    def test_the_default_limit_holds_for_the_public_enrollment_and_the_login(self, world, unchanged):
        huge = "x" * (3 * 1024 * 1024)  # above Django's default 2.5 MB
        enroll = Client().post(
            f"/api/v1/loyalty/enroll/{world.store_code}",
            {"email": "big@example.com", "full_name": huge, "accept_terms": True},
            content_type="application/json",
        )
        login = Client().post(
            "/api/v1/auth/token", {"username": huge, "password": PASSWORD}, content_type="application/json"
        )
        error(enroll, 413, "REQUEST_TOO_LARGE")
        error(login, 413, "REQUEST_TOO_LARGE")

    def test_a_body_at_the_limit_is_read_normally(self, settings, till, world):
        settings.DATA_UPLOAD_MAX_MEMORY_SIZE = 64 * 1024
        body = json.dumps(stamp_body(world))
        response = send(till, "POST", STORE + "stamp", body + " " * (64 * 1024 - len(body)))
        assert response.status_code == 201, response.content

    def test_an_apple_registration_past_the_limit_is_413_in_the_shape(self, settings, apple_pass, unchanged):
        settings.DATA_UPLOAD_MAX_MEMORY_SIZE = 64 * 1024
        response = send(
            Client(),
            "POST",
            f"{APPLE}/devices/{DEVICE}/registrations/{PASS_TYPE}/{apple_pass.serial_number}",
            json.dumps({"pushToken": "t" * (65 * 1024)}),
            **_apple_auth(apple_pass),
        )
        error(response, 413, "REQUEST_TOO_LARGE")
        assert not AppleDeviceRegistration.objects.exists()


class TestDeepJson:
    DEPTH = 100_000

    @pytest.mark.parametrize(
        "raw",
        [
            "[" * DEPTH + "]" * DEPTH,
            '{"card_id": ' + "[" * DEPTH + "]" * DEPTH + "}",
            '{"a": ' * DEPTH + "1" + "}" * DEPTH,
        ],
        ids=["arrays", "in-a-field", "objects"],
    )
    def test_nesting_deeper_than_the_parser_goes_is_400(self, till, world, unchanged, raw):
        each(
            ["stamp", "points/earn", "cards/lookup", "pins"],
            lambda path: error(send(till, "POST", STORE + path, raw), 400, "VALIDATION_ERROR"),
        )

    def test_the_public_api_and_the_login_refuse_it_too(self, world, unchanged):
        raw = "[" * self.DEPTH + "]" * self.DEPTH
        error(send(Client(), "POST", f"/api/v1/loyalty/enroll/{world.store_code}", raw), 400, "VALIDATION_ERROR")
        error(send(Client(), "POST", "/api/v1/auth/token", raw), 400, "VALIDATION_ERROR")

    def test_the_apple_web_service_refuses_it_too(self, apple_pass, unchanged):
        register = send(
            Client(),
            "POST",
            f"{APPLE}/devices/{DEVICE}/registrations/{PASS_TYPE}/{apple_pass.serial_number}",
            '{"pushToken": ' + "[" * self.DEPTH + "]" * self.DEPTH + "}",
            **_apple_auth(apple_pass),
        )
        log = send(Client(), "POST", f"{APPLE}/log", '{"logs": ' + "[" * 30_000 + "]" * 30_000 + "}")
        error(register, 400, "VALIDATION_ERROR")
        error(log, 400, "VALIDATION_ERROR")
        assert not AppleDeviceRegistration.objects.exists()


# --- Strings -------------------------------------------------------------------------------------------------------


FRIENDLY = ["Zoë 😀☕", "\u202eevil\u202c RTL", "مرحبا بالعالم", "𝔘𝔫𝔦𝔠𝔬𝔡𝔢", "e\u0301\u0301\u0301", "a\u200bb"]


class TestUnicode:
    @pytest.mark.parametrize("name", FRIENDLY)
    def test_any_printable_unicode_name_is_stored_verbatim(self, till, world, name):
        response = till.post(
            STORE + "cards/enroll", {"email": "unicode@example.com", "full_name": name}, content_type="application/json"
        )
        assert response.status_code == 201, response.content
        assert Customer.objects.get(email="unicode@example.com").full_name == name

    @pytest.mark.parametrize("field", ["email", "full_name", "phone"])
    def test_nul_and_lone_surrogates_in_enrollment_fields_are_400(self, till, world, unchanged, field):
        def check(escaped):
            fields = {"email": "surrogate@example.com", "full_name": "S", "phone": "123", field: f"x{escaped}y"}
            raw = "{" + ", ".join(f'"{name}": "{value}"' for name, value in fields.items()) + "}"
            assert field in error(send(till, "POST", STORE + "cards/enroll", raw), 400, "VALIDATION_ERROR")["details"]

        each(["\\u0000", "\\ud800", "\\udfff", "a\\ud83d", "\\udc00\\ud800"], check)

    @pytest.mark.parametrize("escaped", ["\\u0000", "\\ud800"], ids=["nul", "surrogate"])
    def test_public_enrollment_refuses_them_too(self, world, unchanged, escaped):
        raw = '{"email": "p@example.com", "full_name": "P%s", "accept_terms": true}' % escaped
        body = error(send(Client(), "POST", f"/api/v1/loyalty/enroll/{world.store_code}", raw), 400)
        assert "full_name" in body["details"]

    # A choice error used to repeat the input ('"\ud800" is not a valid choice.'), which cannot be
    # encoded as UTF-8: the answer was a 500. Lone surrogates are now refused by the JSON parser.
    @pytest.mark.parametrize("escaped", ["\\ud800", "\\uDFFF", "x\\ud83d", "\\udc00\\ud800"])
    def test_a_lone_surrogate_in_a_choice_field_is_400(self, till, world, unchanged, escaped):
        program_before = Program.objects.values().get(pk=world.program_id)
        public = '{"email": "s@example.com", "full_name": "S", "accept_terms": true, "language": "%s"}' % escaped
        at_the_till = '{"email": "s@example.com", "language": "%s"}' % escaped
        requests = [
            (Client(), "POST", f"/api/v1/loyalty/enroll/{world.store_code}", public, "language"),
            (till, "POST", STORE + "cards/enroll", at_the_till, "language"),
            (till, "PATCH", STORE + "program", '{"loyalty_type": "%s"}' % escaped, "loyalty_type"),
        ]

        def check(request):
            client, method, path, raw, field = request
            refused = error(send(client, method, path, raw), 400, "VALIDATION_ERROR")
            assert list(refused["details"]) == [field], refused

        each(requests, check)
        assert not Customer.objects.filter(email="s@example.com").exists()
        assert Program.objects.values().get(pk=world.program_id) == program_before

    @pytest.mark.parametrize(
        "raw, field",
        [
            ('{"card_id": %(card)d, "staff_pin": "2468", "notes": ["ok", {"deep": "\\ud800"}]}', "notes"),
            ('{"card_id": %(card)d, "staff_pin": "2468", "notes": {"\\ud800": "key"}}', "notes"),
            ('{"card_id": %(card)d, "staff_pin": "2468", "\\ud800": 1}', "non_field_errors"),
            ('{"card_id": %(card)d, "staff_pin": "2468", "require_staff_pin": "\\ud800"}', "require_staff_pin"),
            ('"\\ud800"', "non_field_errors"),
            ('["\\ud800"]', "non_field_errors"),
        ],
        ids=["nested-value", "nested-key", "top-level-key", "unknown-field", "bare-string", "in-a-list"],
    )
    def test_a_lone_surrogate_anywhere_in_the_body_is_400_naming_the_field(self, till, world, unchanged, raw, field):
        body = raw % {"card": world.card_ids[1]} if "%(card)" in raw else raw
        refused = error(send(till, "POST", STORE + "stamp", body), 400, "VALIDATION_ERROR")
        assert list(refused["details"]) == [field], refused

    @pytest.mark.parametrize("charset, notes", [("utf-7", b"+2AA-"), ("unicode_escape", b"\\ud800")])
    def test_a_charset_that_decodes_to_a_lone_surrogate_is_400_too(self, till, world, unchanged, charset, notes):
        raw = b'{"card_id": %d, "staff_pin": "2468", "notes": "%s"}' % (world.card_ids[1], notes)
        response = send(till, "POST", STORE + "stamp", raw, content_type=f"application/json; charset={charset}")
        assert list(error(response, 400, "VALIDATION_ERROR")["details"]) == ["notes"]

    def test_a_surrogate_pair_is_one_character_and_welcome(self, till, world):
        response = send(till, "POST", STORE + "stamp", json.dumps(stamp_body(world, notes="\U0001f600")))
        assert response.status_code == 201, response.content
        assert LoyaltyTransaction.objects.get(pk=response.json()["transaction_id"]).notes == "\U0001f600"

    def test_the_login_refuses_a_lone_surrogate(self, world, unchanged):
        raw = '{"username": "%s\\ud800", "password": "%s"}' % (world.staff_username, PASSWORD)
        error(send(Client(), "POST", "/api/v1/auth/token", raw), 400, "VALIDATION_ERROR")

    def test_a_choice_error_never_repeats_the_input(self, till, world, unchanged):
        marker = "<script>alert(1)</script>"
        public = {"email": "c@example.com", "full_name": "C", "accept_terms": True, "language": marker}
        answers = [
            Client().post(f"/api/v1/loyalty/enroll/{world.store_code}", public, content_type="application/json"),
            till.post(STORE + "cards/enroll", {"email": "c@example.com", "language": marker}, "application/json"),
            till.patch(STORE + "program", {"loyalty_type": marker}, "application/json"),
            till.get(STORE + "transactions", {"type": marker}),
        ]
        for answer, field in zip(answers, ["language", "language", "loyalty_type", "type"], strict=True):
            refused = error(answer, 400, "VALIDATION_ERROR")
            assert field in refused["details"], refused
            assert b"script" not in answer.content, answer.content

    def test_unicode_searches_find_nothing_and_do_not_fail(self, till, world, unchanged):
        def check(text):
            search = till.get(STORE + "cards", {"search": text})
            assert (search.status_code, search.json()["count"]) == (200, 0)
            error(till.get(STORE + "cards/lookup", {"q": text}), 404, "CARD_NOT_FOUND")

        each([*FRIENDLY, "\ufffd", "%ED%A0%80"], check)

    def test_an_undecodable_query_string_is_read_with_replacement_characters(self, till, world, unchanged):
        # %ED%A0%80 is a UTF-8-encoded lone surrogate: Django decodes it to U+FFFD, never to a surrogate.
        response = till.get(STORE + "cards?search=%ED%A0%80&page_size=%FF")
        assert (response.status_code, response.json()["count"]) == (200, 0)

    @pytest.mark.parametrize("escaped", ["\\u0000", "\\ud800"], ids=["nul", "surrogate"])
    def test_order_references_with_nul_or_surrogates_are_400(self, till, world, unchanged, escaped):
        raw = '{"card_id": %d, "purchase_amount_cents": 100, "staff_pin": "%s", "order_reference": "R%s"}' % (
            world.card_ids[1],
            STAFF_PIN,
            escaped,
        )
        body = error(send(till, "POST", STORE + "points/earn", raw), 400, "VALIDATION_ERROR")
        assert "order_reference" in body["details"]

    def test_a_unicode_order_reference_books_once_and_replays(self, till, world):
        body = stamp_body(world, purchase_amount_cents=990, order_reference="Bon №42 — ☕😀 \u202eRTL")
        first = till.post(STORE + "points/earn", body, content_type="application/json")
        again = till.post(STORE + "points/earn", body, content_type="application/json")
        assert (first.status_code, again.status_code) == (201, 200)
        assert again.json()["transaction_id"] == first.json()["transaction_id"]
        stored = LoyaltyTransaction.objects.get(pk=first.json()["transaction_id"]).order_reference
        assert stored == body["order_reference"]


class TestSqlLookingStrings:
    def test_searches_and_lookups_treat_them_as_text(self, till, world, unchanged):
        def check(text):
            search = till.get(STORE + "cards", {"search": text})
            assert (search.status_code, search.json()["count"]) == (200, 0)
            error(till.get(STORE + "cards/lookup", {"q": text}), 404, "CARD_NOT_FOUND")
            error(till.post(STORE + "cards/lookup", {"qr_code": text}, content_type="application/json"), 404)
            error(till.get(STORE + "transactions", {"store": text}), 400, "VALIDATION_ERROR")  # not a store code

        each(SQL, check)

    @pytest.mark.parametrize("text", SQL)
    def test_they_are_stored_verbatim_as_names_and_order_references(self, till, world, text):
        cards_before = LoyaltyCard.objects.count()
        enroll = till.post(
            STORE + "cards/enroll",
            {"email": "sql@example.com", "full_name": text, "phone": text[:32]},
            content_type="application/json",
        )
        earn = till.post(
            STORE + "points/earn",
            stamp_body(world, purchase_amount_cents=500, order_reference=text, notes=text),
            content_type="application/json",
        )
        assert (enroll.status_code, earn.status_code) == (201, 201), (enroll.content, earn.content)
        assert Customer.objects.get(email="sql@example.com").full_name == text
        assert LoyaltyTransaction.objects.get(pk=earn.json()["transaction_id"]).order_reference == text
        assert LoyaltyCard.objects.count() == cards_before + 1  # the table is still there, with one more card

    def test_a_login_with_sql_in_every_field_is_a_plain_401(self, world, unchanged):
        def check(text):
            body = {"username": text, "password": text}
            error(Client().post("/api/v1/auth/token", body, content_type="application/json"), 401, "NOT_AUTHENTICATED")

        each(SQL, check)


# --- Numbers -------------------------------------------------------------------------------------------------------


NOT_AN_ID = [
    "-1",
    "0",
    "-0",
    str(2**63),
    "1" + "0" * 30,
    "1.5",
    "1e20",
    "1e400",
    "-1e400",
    "NaN",
    "Infinity",
    "-Infinity",
    '"abc"',
    '"1 OR 1=1"',
    '""',
    "null",
    "[]",
    "{}",
    "true",
    '"0x10"',
    # int() reads any script's digits and underscores; the API reads ASCII digits only.
    '"١"',
    '"１"',
    '"1_0"',
    '"²"',
]
NOT_AN_AMOUNT = [*NOT_AN_ID, "2147483648"]  # 21 million euros: above the largest purchase


class TestNumbers:
    def test_purchase_amounts_that_are_not_whole_positive_cents_are_400(self, till, world, unchanged):
        def check(literal):
            raw = '{"card_id": %d, "staff_pin": "%s", "purchase_amount_cents": %s}' % (world.card_ids[1], STAFF_PIN, literal)
            error(send(till, "POST", STORE + "points/earn", raw), 400, "VALIDATION_ERROR")

        each(NOT_AN_AMOUNT, check)

    # JSON does not tell 1000 from 1e3 or 1000.0; a string is read only if it is ASCII digits
    # (see the next test): whatever the spelling, the value is 1000 or it is refused.
    def test_a_number_that_is_exactly_1000_books_1000_cents(self, till, world):
        def check(literal):
            raw = '{"card_id": %d, "staff_pin": "%s", "purchase_amount_cents": %s}' % (world.card_ids[1], STAFF_PIN, literal)
            response = send(till, "POST", STORE + "points/earn", raw)
            assert response.status_code == 201, response.content
            assert LoyaltyTransaction.objects.get(pk=response.json()["transaction_id"]).purchase_amount_cents == 1000

        each(["1e3", "1000.0", "1000", '"1000"', "1E+3", '"+1000"'], check)

    # Before, "١٠٠٠" (Arabic-Indic), "１０００" (fullwidth) and "1_000" all booked 1000 cents: int() reads them.
    OTHER_DIGITS = ["١٠٠٠", "１０００", "۱۰۰۰", "१०००", "1０00", "1_000", " 1000", "1000\n", "\u00a01000", "1000\u2003"]

    def test_a_string_amount_is_read_only_if_it_is_ascii_digits(self, till, world, unchanged):
        def check(text):
            body = stamp_body(world, purchase_amount_cents=text)
            refused = error(till.post(STORE + "points/earn", body, "application/json"), 400, "VALIDATION_ERROR")
            assert list(refused["details"]) == ["purchase_amount_cents"], refused

        each(self.OTHER_DIGITS, check)

    def test_every_integer_of_a_request_is_ascii_digits_only(self, till, world, unchanged):
        admin = Client(HTTP_AUTHORIZATION=f"Token {world.admin_key}")
        program_before = Program.objects.values().get(pk=world.program_id)
        adjust = f"{STORE}cards/{world.card_ids[0]}/points/adjust"
        requests = [
            (STORE + "stamp", {"card_id": "١"}, "card_id"),
            (STORE + "stamp/void", {"card_id": world.card_ids[0], "stamps_to_void": "١"}, "stamps_to_void"),
            (STORE + "points/redeem", {"card_id": world.card_ids[0], "reward_id": "١"}, "reward_id"),
            (STORE + "points/void", {"card_id": world.card_ids[0], "points_to_void": "１"}, "points_to_void"),
            (adjust, {"points_delta": "١٠", "reason": "digits"}, "points_delta"),
        ]

        def check(request):
            path, fields, field = request
            body = {"staff_pin": STAFF_PIN, **fields}
            refused = error(till.post(path, body, "application/json"), 400, "VALIDATION_ERROR")
            assert field in refused["details"], refused

        each(requests, check)
        for name in ("stamps_target", "cooldown_minutes", "points_per_euro", "minimum_purchase_cents"):
            refused = error(till.patch(STORE + "program", {name: "١٠"}, "application/json"), 400, "VALIDATION_ERROR")
            assert list(refused["details"]) == [name], refused
        assert Program.objects.values().get(pk=world.program_id) == program_before
        error(admin.get("/api/v1/admin/loyalty/programs", {"merchant": "١"}), 400, "VALIDATION_ERROR")
        assert admin.get("/api/v1/admin/loyalty/programs", {"merchant": str(world.merchant_id)}).json()["count"] == 1

    def test_card_numbers_and_pins_in_other_digits_name_nothing(self, till, world):
        arabic = str.maketrans("0123456789", "٠١٢٣٤٥٦٧٨٩")
        number = world.card_numbers[0].translate(arabic)
        before = Snapshot.take()
        by_number = {"card_number": number, "staff_pin": STAFF_PIN}
        refused = error(till.post(STORE + "stamp", by_number, "application/json"), 400, "VALIDATION_ERROR")
        assert list(refused["details"]) == ["card_number"], refused
        error(till.get(STORE + "cards/lookup", {"q": number}), 404, "CARD_NOT_FOUND")
        error(till.post(STORE + "pins", {"name": "Digits", "pin": "٩٧٥٣"}, "application/json"), 400, "VALIDATION_ERROR")
        assert Snapshot.take() == before
        pin = STAFF_PIN.translate(arabic)
        error(till.post(STORE + "stamp", stamp_body(world, staff_pin=pin), "application/json"), 422, "STAFF_PIN_INVALID")
        assert Snapshot.take().transactions == before.transactions

    @pytest.mark.parametrize("field", ["card_id", "reward_id", "staff_pin_id"])
    def test_ids_that_are_not_positive_integers_are_400(self, till, world, unchanged, field):
        # Everything else in the request is right: the card has the points and the PIN is correct.
        def check(literal):
            fields = {"card_id": str(world.card_ids[0]), "reward_id": str(world.reward_ids[0]), field: literal}
            raw = "{" + ", ".join(f'"{name}": {value}' for name, value in fields.items())
            raw += f', "staff_pin": "{STAFF_PIN}"}}'
            error(send(till, "POST", STORE + "points/redeem", raw), 400, "VALIDATION_ERROR")

        each(NOT_AN_ID, check)

    def test_adjustments_and_void_counts_out_of_range_are_400(self, till, world, unchanged):
        adjust = f"{STORE}cards/{world.card_ids[0]}/points/adjust"
        each(
            ["0", "100001", "-100001", "1e6", "NaN", "0.5"],
            lambda delta: error(
                send(till, "POST", adjust, '{"points_delta": %s, "reason": "test"}' % delta), 400, "VALIDATION_ERROR"
            ),
        )
        void = '{"card_id": %d, "staff_pin": "%s", "stamps_to_void": %%s}' % (world.card_ids[0], STAFF_PIN)
        each(
            ["0", "-1", "1001", "1e9", "2.5"],
            lambda count: error(send(till, "POST", STORE + "stamp/void", void % count), 400, "VALIDATION_ERROR"),
        )

    def test_path_ids_that_are_not_ids_are_json_404(self, till, world, unchanged):
        segments = ["-1", "0", "1e3", "0x1F", "9" * 19, "9" * 200, "..", "١٢", "1%00", "1.0", "+1", "%201"]
        requests = [("GET", ""), ("GET", "/transactions"), ("POST", "/deactivate")]
        each(
            [(method, f"{segment}{suffix}") for segment in segments for method, suffix in requests],
            lambda request: error(send(till, request[0], f"{STORE}cards/{request[1]}", '{"reason": "x"}'), 404),
        )

    def test_another_merchants_card_id_is_404_and_untouched(self, till, world, unchanged):
        for path in ("stamp", "points/earn"):
            response = till.post(
                STORE + path,
                {"card_id": world.other_card_id, "staff_pin": STAFF_PIN, "purchase_amount_cents": 100},
                content_type="application/json",
            )
            error(response, 404, "CARD_NOT_FOUND")
        error(till.get(f"{STORE}cards/{world.other_card_id}"), 404, "CARD_NOT_FOUND")

    def test_pages_that_do_not_exist_are_404_and_page_sizes_out_of_range_fall_back(self, till, world):
        each(
            ["-1", "0", "1e3", "99999999999999999999999", "NaN", "last2", "\x00", "١", "１", "1_0", " 1"],
            lambda page: error(till.get(STORE + "transactions", {"page": page}), 404, "NOT_FOUND"),
        )
        # "٢" is not 2: it falls back to the default size like any other page size that is not ASCII digits.
        assert len(till.get(STORE + "transactions", {"page_size": "٢"}).json()["results"]) > 2
        assert len(till.get(STORE + "transactions", {"page_size": "2"}).json()["results"]) == 2

        def bounded(page_size):
            response = till.get(STORE + "transactions", {"page_size": page_size})
            assert response.status_code == 200 and len(response.json()["results"]) <= 100

        each(["-5", "0", "1e9", "abc", "99999999999999999999999"], bounded)

    def test_datetimes_at_the_edges_of_the_calendar_are_400_not_500(self, till, world):
        instants = [
            "0001-01-01T00:00:00+14:00",  # before year 1 in UTC
            "9999-12-31T23:59:59-14:00",  # after year 9999 in UTC
            "2026-02-30T00:00:00Z",
            "yesterday",
            "٢٠٢٦-٠١-٠١T00:00:00Z",  # Arabic-Indic digits: Django's fallback parser reads them
            "２０２６-01-01T00:00:00+01:00",
        ]
        each(
            [(name, instant) for name in ("since", "until") for instant in instants],
            lambda query: error(till.get(STORE + "transactions", dict([query])), 400, "VALIDATION_ERROR"),
        )
        assert till.get(STORE + "transactions", {"since": "2026-01-01T00:00:00+01:00"}).status_code == 200


# --- The body as a whole --------------------------------------------------------------------------------------------


class TestDuplicateKeys:
    @pytest.mark.parametrize(
        "raw",
        [
            '{"card_id": %(other)d, "card_id": %(own)d, "staff_pin": "2468"}',
            '{"card_id": %(own)d, "staff_pin": "0000", "staff_pin": "2468"}',
            '{"card_id": %(own)d, "staff_pin": "2468", "notes": {"a": 1, "a": 2}}',
        ],
        ids=["card", "pin", "nested"],
    )
    def test_an_object_naming_a_key_twice_is_400(self, till, world, unchanged, raw):
        body = raw % {"own": world.card_ids[1], "other": world.other_card_id}
        refused = error(send(till, "POST", STORE + "stamp", body), 400, "VALIDATION_ERROR")
        assert "duplicate key" in refused["message"]

    def test_the_login_refuses_duplicate_keys(self, world, unchanged):
        raw = '{"username": "a", "username": "%s", "password": "%s"}' % (world.staff_username, PASSWORD)
        error(send(Client(), "POST", "/api/v1/auth/token", raw), 400, "VALIDATION_ERROR")


class TestContentTypes:
    @pytest.mark.parametrize(
        "content_type",
        [
            "text/plain",
            "application/x-www-form-urlencoded",
            "multipart/form-data; boundary=xyz",
            "application/xml",
            "application/json-patch+json",
            "application/jsonx",
            "",
        ],
    )
    def test_anything_but_json_is_415(self, till, world, unchanged, content_type):
        response = send(till, "POST", STORE + "stamp", json.dumps(stamp_body(world)), content_type=content_type)
        error(response, 415, "UNSUPPORTED_MEDIA_TYPE")

    @pytest.mark.parametrize(
        "raw, content_type",
        [
            (b'{"card_id": 1, "notes": "\xff\xfe"}', "application/json"),
            ('\ufeff{"card_id": 1}'.encode(), "application/json"),
            ('{"card_id": 1}'.encode("utf-16"), "application/json"),
            (b'{"card_id": 1}', "application/json; charset=utf-16"),
            (b"\x00" * 64, "application/json"),
            (b'{"card_id": 1', "application/json"),
        ],
        ids=["bad-utf8", "bom", "utf16-body", "utf16-charset", "nul-bytes", "truncated"],
    )
    def test_bytes_that_are_not_json_are_400(self, till, world, unchanged, raw, content_type):
        error(send(till, "POST", STORE + "stamp", raw, content_type=content_type), 400, "VALIDATION_ERROR")

    def test_json_in_another_declared_charset_is_read_in_that_charset(self, till, world):
        body = json.dumps(stamp_body(world, notes="Zoë"), ensure_ascii=False).encode("latin-1")
        response = send(till, "POST", STORE + "stamp", body, content_type="application/json; charset=latin-1")
        assert response.status_code == 201, response.content
        assert LoyaltyTransaction.objects.get(pk=response.json()["transaction_id"]).notes == "Zoë"


# --- Authorization headers -------------------------------------------------------------------------------------------


class TestTokenHeaders:
    NOT_A_TOKEN = [
        "",
        "Token",
        "Token ",
        "Token a b",
        "Token " + "x" * 10_000,
        "Token \xff\xfe\xfd",
        "Token " + wire("漢字🔑"),
        "Token \x00",
        "Bearer {key}",
        "Basic {key}",
        "Token {key}, ApplePass x",
        "Token {key} {key}",
        "ApplePass {key}",
        "Token {key}\x00",
        "Token {key}x",
    ]

    def test_anything_but_a_live_token_is_401(self, world, unchanged):
        def check(header):
            client = Client(HTTP_AUTHORIZATION=header.format(key=world.owner_key))
            error(client.get(STORE + "cards"), 401, "NOT_AUTHENTICATED")
            error(client.post(STORE + "stamp", stamp_body(world), content_type="application/json"), 401)
            error(client.delete("/api/v1/auth/token"), 401, "NOT_AUTHENTICATED")

        each(self.NOT_A_TOKEN, check)

    def test_the_scheme_is_case_insensitive_as_http_says(self, world):
        client = Client(HTTP_AUTHORIZATION=f"token {world.owner_key}")
        assert client.get(STORE + "cards").status_code == 200

    def test_10_kb_headers_of_any_name_change_nothing(self, till, world, unchanged):
        response = till.get(STORE + "cards", HTTP_X_JUNK="j" * 10_000, HTTP_USER_AGENT="u" * 10_000)
        assert response.status_code == 200

    def test_a_flood_is_429_in_the_shape_with_retry_after(self, settings, till, world, unchanged):
        settings.REST_FRAMEWORK = {
            **settings.REST_FRAMEWORK,
            "DEFAULT_THROTTLE_RATES": {**settings.REST_FRAMEWORK["DEFAULT_THROTTLE_RATES"], "scan": "3/min"},
        }
        answers = [till.post(STORE + "stamp/void", {}, content_type="application/json") for _ in range(4)]
        assert [answer.status_code for answer in answers] == [400, 400, 400, 429]
        body = error(answers[-1], 429, "THROTTLED")
        assert body["details"]["retry_after_seconds"] == int(answers[-1]["Retry-After"]) >= 1


class TestOptionsAndTheDocument:
    """What the schema fuzzer found: OPTIONS was a 500, and answers the document did not describe."""

    def test_options_describes_the_endpoint_instead_of_failing(self, world, unchanged):
        owner = Client(HTTP_AUTHORIZATION=f"Token {world.owner_key}")
        admin = Client(HTTP_AUTHORIZATION=f"Token {world.admin_key}")
        client_for = {
            STORE + "stamp": owner,
            STORE + "cards/enroll": owner,
            f"{STORE}cards/{world.card_ids[0]}/points/adjust": owner,
            f"{STORE}pins/{world.pin_ids[0]}/unlock": owner,
            STORE + "program": owner,
            f"/api/v1/loyalty/enroll/{world.store_code}": Client(),
            "/api/v1/admin/loyalty/programs": admin,
            "/api/v1/auth/token": owner,
        }

        def check(path):
            response = client_for[path].options(path)
            assert response.status_code == 200, response.content
            assert response.json()["name"] and "actions" not in response.json()

        each(client_for, check)

    def test_the_document_describes_the_answers_the_fuzzer_met(self, world):
        document = Client().get("/api/schema", {"format": "json"}).json()
        paginated = ["/api/v1/store/loyalty/cards", "/api/v1/store/loyalty/pins", "/api/v1/store/loyalty/transactions"]
        paginated += ["/api/v1/admin/loyalty/programs", "/api/v1/admin/loyalty/merchants"]
        for path in paginated:  # ?page= past the end is a 404 NOT_FOUND
            assert "404" in document["paths"][path]["get"]["responses"], path
        save_link = document["paths"]["/api/v1/loyalty/passes/google/{public_token}/save"]["get"]["responses"]
        assert {"302", "404", "422", "429", "503"} <= set(save_link)
        # Merchants without a contact address answer "": not an e-mail, so the document must not promise one.
        assert "format" not in document["components"]["schemas"]["Merchant"]["properties"]["contact_email"]

    def test_the_save_link_counts_in_the_public_budget_like_the_other_public_reads(self, settings, world):
        settings.REST_FRAMEWORK = {
            **settings.REST_FRAMEWORK,
            "DEFAULT_THROTTLE_RATES": {**settings.REST_FRAMEWORK["DEFAULT_THROTTLE_RATES"], "public": "2/min"},
        }
        save_link = f"/api/v1/loyalty/passes/google/{world.public_tokens[0]}/save"
        answers = [Client().get(save_link), Client().get(f"/api/v1/loyalty/programs/{world.store_code}")]
        answers += [Client().get(save_link), Client().get(f"/api/v1/loyalty/programs/{world.store_code}")]
        assert [answer.status_code for answer in answers] == [404, 200, 429, 429]  # Google Wallet is off here
        body = error(answers[2], 429, "THROTTLED")
        assert body["details"]["retry_after_seconds"] == int(answers[2]["Retry-After"])


# --- Apple web service -----------------------------------------------------------------------------------------------


@pytest.fixture
def apple_pass(apple_settings, world):
    return apple_pass_get_or_create(card=LoyaltyCard.objects.get(pk=world.card_ids[0]))


def _apple_auth(apple_pass) -> dict:
    return {"HTTP_AUTHORIZATION": f"ApplePass {apple_pass.authentication_token}"}


def _register(path_tail: str, apple_pass, method="POST", **headers):
    body = json.dumps({"pushToken": "push-1"})
    return send(Client(), method, f"{APPLE}/devices/{path_tail}", body, **(headers or _apple_auth(apple_pass)))


class TestApplePaths:
    def test_a_device_id_no_iphone_sends_is_400_and_never_registered(self, apple_pass):
        def check(device):
            for method in ("POST", "DELETE"):
                response = _register(f"{device}/registrations/{PASS_TYPE}/{apple_pass.serial_number}", apple_pass, method)
                error(response, 400, "VALIDATION_ERROR")

        # Too long; NUL, newline, DEL, tab: control characters no device identifier holds.
        each(["d" * 129, "d" * 10_000, "dev%00ice", "dev%0Aice", "dev%7Fice", "dev%09ice"], check)
        assert not AppleDeviceRegistration.objects.exists()

    @pytest.mark.parametrize("device", ["設備📱", "%C3%A9t%C3%A9", "..", "dev ice"])
    def test_a_printable_device_id_is_an_opaque_key_like_any_other(self, apple_pass, device):
        response = _register(f"{device}/registrations/{PASS_TYPE}/{apple_pass.serial_number}", apple_pass)
        assert response.status_code == 201, response.content
        assert AppleDeviceRegistration.objects.get().device_library_identifier.isprintable()

    def test_paths_no_route_matches_are_json_404_and_register_nothing(self, apple_pass):
        tails = [
            f"{DEVICE}/registrations/{PASS_TYPE}/SERIAL/",  # a trailing slash
            f"{DEVICE}/registrations//SERIAL",  # no pass type
            f"{DEVICE}/registrations/{PASS_TYPE}/SERIAL/extra",
            f"{DEVICE}/registrations/{PASS_TYPE}/SERIAL/../SERIAL",
            f"{DEVICE}/../../passes/{PASS_TYPE}/SERIAL",
            f"/registrations/{PASS_TYPE}/SERIAL",  # no device
            f"ab%2Fcd/registrations/{PASS_TYPE}/SERIAL",  # an encoded slash is a slash: two segments, no route
            f"{DEVICE}/Registrations/{PASS_TYPE}/SERIAL",
        ]
        each(
            [(method, tail.replace("SERIAL", apple_pass.serial_number)) for tail in tails for method in ("POST", "DELETE", "GET")],
            lambda request: error(_register(request[1], apple_pass, request[0]), 404),
        )
        assert not AppleDeviceRegistration.objects.exists()

    def test_a_route_with_the_wrong_method_is_a_json_405(self, apple_pass):
        # devices/<device>/registrations/<x> is the "updated serials" route: GET only.
        response = _register(f"{DEVICE}/registrations/{apple_pass.serial_number}", apple_pass, "POST")
        error(response, 405, "METHOD_NOT_ALLOWED")
        assert response["Allow"] == "GET"
        put = send(Client(), "PUT", f"{APPLE}/passes/{PASS_TYPE}/{apple_pass.serial_number}", "", **_apple_auth(apple_pass))
        error(put, 405, "METHOD_NOT_ALLOWED")
        error(Client().get(f"{APPLE}/log"), 405, "METHOD_NOT_ALLOWED")

    def test_a_serial_we_never_issued_is_404_whatever_it_holds(self, apple_pass):
        def check(serial):
            error(Client().get(f"{APPLE}/passes/{PASS_TYPE}/{serial}", **_apple_auth(apple_pass)), 404, "NOT_FOUND")
            error(_register(f"{DEVICE}/registrations/{PASS_TYPE}/{serial}", apple_pass), 404, "NOT_FOUND")

        each(["x" * 10_000, "ser%00ial", "序列", "%ED%A0%80", "..", "ser ial", apple_pass.serial_number.upper()], check)
        assert not AppleDeviceRegistration.objects.exists()

    def test_any_passes_updated_since_we_did_not_issue_lists_every_serial(self, apple_pass):
        assert _register(f"{DEVICE}/registrations/{PASS_TYPE}/{apple_pass.serial_number}", apple_pass).status_code == 201

        def check(since):
            response = Client().get(f"{APPLE}/devices/{DEVICE}/registrations/{PASS_TYPE}", {"passesUpdatedSince": since})
            assert response.status_code == 200, response.content
            assert response.json()["serialNumbers"] == [apple_pass.serial_number]

        # "²" and "١٢٣" are digits to str.isdigit(); int() refuses the first.
        each(["-1", "1e3", "9" * 100, "NaN", "²", "١٢٣", "0x10", "\x00", "漢", ""], check)

    def test_updated_serials_of_a_device_id_no_iphone_sends_is_204(self, apple_pass):
        each(
            ["dev%00ice", "d" * 10_000, "dev%0Aice"],
            lambda device: _status(Client().get(f"{APPLE}/devices/{device}/registrations/{PASS_TYPE}"), 204),
        )

    def test_any_if_modified_since_we_cannot_read_serves_the_pass(self, apple_pass):
        def check(since):
            path = f"{APPLE}/passes/{PASS_TYPE}/{apple_pass.serial_number}"
            response = Client().get(path, HTTP_IF_MODIFIED_SINCE=since, **_apple_auth(apple_pass))
            assert (response.status_code, response["Content-Type"]) == (200, "application/vnd.apple.pkpass")

        each(["garbage", "Sun, 06 Nov 99999 08:49:37 GMT", "Sun, 06 Nov 1994 08:49:37 GMT", "-1", "\xff", "9" * 500], check)

    def test_the_device_log_takes_any_json_without_failing(self, apple_settings):
        refused = ['{"logs": "not a list"}', "[]", "null", b"\xff\xfe", b"{" * 64]
        each(refused, lambda raw: error(send(Client(), "POST", f"{APPLE}/log", raw), 400, "VALIDATION_ERROR"))
        odd_entries = '{"logs": [null, {}, [], 1e400, "\\ud800", "\\u0000", "' + "x" * 5000 + '"]}'
        assert send(Client(), "POST", f"{APPLE}/log", odd_entries).status_code == 200


def _status(response, status: int) -> None:
    assert response.status_code == status, (response.status_code, response.content[:200])


APPLE_UNAUTHORIZED = {"error": {"code": "UNAUTHORIZED", "message": "Authentication failed.", "details": {}}}


class TestAppleAuthorization:
    NOT_THE_PASS_TOKEN = [
        "",
        "ApplePass",
        "ApplePass ",
        "ApplePass " + "a" * 10_000,
        "ApplePass " + wire("🔑ключ"),
        "ApplePass \xff\xfe\x00",
        "ApplePass {token}, Token x",
        "ApplePass {token} {token}",
        "applepass {token}",  # PassKit sends "ApplePass"; the web service has always required exactly that
        "APPLEPASS {token}",
        "Token {token}",
        "Bearer {token}",
        "ApplePass {token}x",
        "ApplePass\t{token}",
        "x" * 10_000,
    ]

    def test_anything_but_the_pass_token_is_the_one_401(self, apple_pass):
        serial = apple_pass.serial_number

        def check(header):
            headers = {"HTTP_AUTHORIZATION": header.format(token=apple_pass.authentication_token)}
            answers = [
                Client().get(f"{APPLE}/passes/{PASS_TYPE}/{serial}", **headers),
                _register(f"{DEVICE}/registrations/{PASS_TYPE}/{serial}", apple_pass, "POST", **headers),
                _register(f"{DEVICE}/registrations/{PASS_TYPE}/{serial}", apple_pass, "DELETE", **headers),
            ]
            for response in answers:
                assert (response.status_code, response.json()) == (401, APPLE_UNAUTHORIZED)

        each(self.NOT_THE_PASS_TOKEN, check)
        assert not AppleDeviceRegistration.objects.exists()


class TestGoogleSaveLink:
    def test_a_public_token_we_never_issued_is_404(self, world, unchanged):
        each(
            ["x" * 10_000, "令牌", "%ED%A0%80", "..", "' OR 1=1 --", world.public_tokens[0].upper()],
            lambda token: error(Client().get(f"/api/v1/loyalty/passes/google/{token}/save"), 404),
        )

    def test_a_nul_byte_in_the_token_is_refused_in_the_shape(self, world, unchanged):
        # PostgreSQL's driver refuses a NUL before any query (a 400); SQLite simply finds no card (a 404).
        response = Client().get("/api/v1/loyalty/passes/google/tok%00en/save")
        error(response, response.status_code)
        assert response.status_code in (400, 404)
