"""Security as a merchant relies on it: no one reaches another merchant's data, lost access is lost at
once, PIN guessing is bounded, and Apple's pass tokens are compared in constant time.

- **Cross-merchant, store API.** Every route under ``/api/v1/store/loyalty/`` is read from the root
  URL resolver, with every method it allows; each must have probes in ``CASES`` (a new endpoint
  without one fails ``test_every_store_route_has_cross_merchant_probes``). Each probe is sent with
  merchant A's *owner* token (so the role is never what stops it) and names merchant B's objects.
  An id of B is a 404 in the standard error shape, answered exactly as for an id that does not
  exist (no existence oracle); a list or search shows none of B's objects; and every row of B —
  each tenant table, read generically — is the same afterwards.
- **Cross-merchant, back office.** Every object URL of every registered ModelAdmin (delete, the bare
  ``<id>/`` redirect, history, custom ones such as GDPR export/erase, the CSV import's pages) and
  every admin action, for A's owner on B's objects: never a 200 with B's data, nothing changed.
  ``tests/admin/test_scoping.py`` already covers change (GET and POST) and history; not repeated.
- **Tokens stop at once**, through HTTP with the same client that just succeeded: user, membership,
  store or the store's assignment taken away (through the services and by the row alone), the
  password changed, revoke.
  ``tests/staff/services/test_tokens.py`` proves the same at the service level.
- **PIN brute force**, through HTTP with ``LOYALTY_PIN_MAX_FAILED_ATTEMPTS=5``: at most 5 bcrypt
  checks, then 423 for every PIN, every endpoint and every token of the store until the window has
  passed. Concurrent guesses: ``tests/loyalty/test_concurrency.py``.
- **Apple web service**: the pass token is checked by ``hmac.compare_digest`` and nothing else.

The no-secrets scenario is in ``test_security_secrets.py``.
"""

import hmac
import json
import secrets
from dataclasses import dataclass, field
from datetime import timedelta

import bcrypt
import pytest
from django.apps import apps
from django.contrib import admin
from django.core.cache import cache
from django.test import Client, RequestFactory
from django.urls import URLResolver, get_resolver, resolve, reverse
from django.utils import timezone
from rest_framework.test import APIClient

from loyalty.domain.actors import Actor, Channel
from loyalty.domain.cards import CardRef
from loyalty.domain.identifiers import luhn_check_digit
from loyalty.models import LoyaltyCard, LoyaltyTransaction, Program
from loyalty.services.audit import audit_record
from loyalty.services.cards import card_deactivate
from loyalty.services.enrollment import customer_enroll
from loyalty.services.imports import card_import_preview, card_import_stage
from loyalty.services.points import points_earn
from loyalty.services.stamps import stamp_add
from staff.models import StaffPin, StorePinGuard
from staff.services.memberships import membership_update
from tests import factories
from tests.admin.conftest import clients, world  # noqa: F401  (the two-merchant back-office world)
from tests.admin.test_scoping import TENANT_OBJECTS, _object
from tests.api.conftest import client_for, error_of
from tests.wallet.apple.conftest import apple_settings, dev_certificates  # noqa: F401  (Apple Wallet on)
from wallet.apple.services import apple_pass_get_or_create

STORE_API = "/api/v1/store/loyalty/"
STORE_API_ROUTE_PREFIX = "api/v1/store/loyalty/"
# HEAD answers as GET does; OPTIONS describes the endpoint and reads no object.
METHODS_NOT_PROBED = {"head", "options"}


@pytest.fixture(autouse=True)
def _fast_passwords(fast_passwords):
    """Tokens are issued through the real login (``fast_passwords`` of the package's conftest)."""


@pytest.fixture(autouse=True)
def _fresh_throttles():
    """Throttle counters live in the cache; a probe must never be stopped by a 429."""
    cache.clear()
    yield
    cache.clear()


# --- The two merchants ---------------------------------------------------------------------------------------


@dataclass(frozen=True)
class Names:
    """Everything a client can send to name merchant B's objects."""

    card_id: int
    inactive_card_id: int
    card_number: str
    qr_code: str
    email: str
    pin_id: int
    reward_id: int
    stamp_transaction_id: int
    earn_transaction_id: int
    order_reference: str
    store_code: str


@dataclass
class TwoMerchants:
    alpha_owner: APIClient
    alpha_card: LoyaltyCard
    alpha_reward_id: int
    beta_merchant: object
    beta: Names
    ghost: Names  # the same names for objects that exist nowhere
    beta_markers: list[str] = field(default_factory=list)  # text that would show B's data in an answer


def _enroll(store, email, full_name) -> LoyaltyCard:
    actor = Actor(merchant=store.merchant, store=store, channel=Channel.SYSTEM)
    return customer_enroll(actor=actor, email=email, full_name=full_name).card


def _ghost_card_number() -> str:
    body = "90000000001"
    return body + luhn_check_digit(body)


def build_two_merchants() -> TwoMerchants:
    alpha = factories.make_merchant("Alpha Roasters", slug="alpha-roasters")
    alpha_store = factories.make_store(alpha, code="alpha-main", name="Alpha main")
    alpha_program = factories.make_program(alpha, name="Alpha Coffee Card", cooldown_minutes=0)
    alpha_reward = factories.make_reward(alpha_program, "Alpha muffin", 10)
    alpha_card = _enroll(alpha_store, "ada@alpha.example.com", "Ada Alpharson")
    points_earn(
        actor=factories.till_actor(alpha_store), card_ref=CardRef(card_id=alpha_card.pk), purchase_amount_cents=5000
    )
    factories.make_pin(alpha_store, pin="1357", name="Alpha barista")
    alpha_owner = client_for(factories.make_user("owner", alpha, username="alpha-owner"), alpha_store)

    beta = factories.make_merchant("Bakery Beta", slug="bakery-beta")
    beta_store = factories.make_store(beta, code="beta-shop", name="Beta shop")
    beta_program = factories.make_program(beta, name="Beta Bread Club", cooldown_minutes=0)
    beta_reward = factories.make_reward(beta_program, "Beta baguette", 10)
    beta_card = _enroll(beta_store, "bob@beta.example.com", "Bob Betamann")
    beta_actor = factories.till_actor(beta_store)
    stamp = stamp_add(actor=beta_actor, card_ref=CardRef(card_id=beta_card.pk))
    earned = points_earn(
        actor=beta_actor,
        card_ref=CardRef(card_id=beta_card.pk),
        purchase_amount_cents=5000,
        order_reference="BETA-ORDER-0001",
    )
    beta_inactive = _enroll(beta_store, "cleo@beta.example.com", "Cleo Betamann")
    card_deactivate(actor=factories.owner_actor(beta_store), card_ref=CardRef(card_id=beta_inactive.pk), reason="Lost")
    beta_pin = factories.make_pin(beta_store, pin="4826", name="Beta baker Bernd")
    locked_until = timezone.now() + timedelta(hours=1)  # B's till is locked: an unlock from A must not free it
    StaffPin.objects.filter(pk=beta_pin.pk).update(failed_attempts=5, locked_until=locked_until)
    StorePinGuard.objects.create(store=beta_store, failed_attempts=5, locked_until=locked_until)
    beta_owner = factories.make_user("owner", beta, username="beta-owner")
    audit_record(actor=beta_owner, action="view", obj=beta_card, merchant=beta)

    beta_card.refresh_from_db()
    names = Names(
        card_id=beta_card.pk,
        inactive_card_id=beta_inactive.pk,
        card_number=beta_card.card_number,
        qr_code=beta_card.qr_code_data,
        email=beta_card.customer.email,
        pin_id=beta_pin.pk,
        reward_id=beta_reward.pk,
        stamp_transaction_id=stamp.transaction.pk,
        earn_transaction_id=earned.transaction.pk,
        order_reference="BETA-ORDER-0001",
        store_code=beta_store.code,
    )
    ghost = Names(
        card_id=10**9 + 1,
        inactive_card_id=10**9 + 2,
        card_number=_ghost_card_number(),
        qr_code=secrets.token_urlsafe(24),
        email="nobody@ghost.example.com",
        pin_id=10**9 + 3,
        reward_id=10**9 + 4,
        stamp_transaction_id=10**9 + 5,
        earn_transaction_id=10**9 + 6,
        order_reference="GHOST-ORDER-0001",
        store_code="ghost-shop",
    )
    markers = [
        beta_card.card_number,
        beta_inactive.card_number,
        beta_card.qr_code_data,
        beta_inactive.qr_code_data,
        "bob@beta.example.com",
        "cleo@beta.example.com",
        "Betamann",
        "Bakery Beta",
        "Beta Bread Club",
        "Beta baguette",
        "Beta baker Bernd",
        "beta-shop",
        "BETA-ORDER-0001",
    ]
    return TwoMerchants(
        alpha_owner=alpha_owner,
        alpha_card=alpha_card,
        alpha_reward_id=alpha_reward.pk,
        beta_merchant=beta,
        beta=names,
        ghost=ghost,
        beta_markers=markers,
    )


def tenant_rows(merchant) -> dict[str, list[dict]]:
    """Every row of every tenant table (any app, present and future) that belongs to ``merchant``."""
    return {
        model._meta.label: list(model._default_manager.for_merchant(merchant).order_by("pk").values())
        for model in apps.get_models()
        if hasattr(model, "MERCHANT_LOOKUP")
    }


# --- The store API's routes, from the URL resolver ---------------------------------------------------------------


def _methods_of(callback) -> set[str]:
    actions = getattr(callback, "actions", None)
    if actions is not None:  # a DRF ViewSet: the methods it was routed with
        return set(actions)
    view_class = getattr(callback, "view_class", None) or getattr(callback, "cls", None)
    if view_class is not None:
        return {name for name in view_class.http_method_names if hasattr(view_class, name)}
    raise AssertionError(f"cannot tell which methods {callback!r} allows: give it a probe by hand")


def store_routes() -> list[tuple[str, str]]:
    """``(route name, METHOD)`` for every route of the store API and every method it allows."""
    found = []

    def walk(patterns, prefix):
        for pattern in patterns:
            route = prefix + str(pattern.pattern).lstrip("^").rstrip("$")
            if isinstance(pattern, URLResolver):
                walk(pattern.url_patterns, route)
            elif route.startswith(STORE_API_ROUTE_PREFIX):
                for method in sorted(_methods_of(pattern.callback) - METHODS_NOT_PROBED):
                    found.append((pattern.name or route, method.upper()))

    walk(get_resolver().url_patterns, "")
    return sorted(set(found))


# --- Probes ----------------------------------------------------------------------------------------------------

NOT_FOUND = "404 in the standard shape, as for an object that does not exist"
HIDDEN = "200 without any of B's objects"
ISOLATED = "answered for A alone"


@dataclass(frozen=True)
class Probe:
    method: str
    path: str
    payload: dict | None = None  # JSON body, or the query string of a GET
    expect: str = NOT_FOUND
    allowed_markers: tuple = ()  # B's text the answer may legitimately carry (A's own copy of it)


def _card_names(names: Names) -> list[dict]:
    """The three ways a body names a card."""
    return [{"card_id": names.card_id}, {"card_number": names.card_number}, {"qr_code": names.qr_code}]


def _on_own_card(world: TwoMerchants, path: str, expect: str = NOT_FOUND, **fields) -> Probe:
    """A probe on A's own card that names one of B's other objects (a reward, a transaction, a PIN...)."""
    return Probe("POST", STORE_API + path, {"card_id": world.alpha_card.pk, **fields}, expect)


def _operation_probes(path, extra):
    return lambda world, names: [Probe("POST", STORE_API + path, {**card, **extra}) for card in _card_names(names)]


CASES = {
    ("store-program", "GET"): lambda world, names: [Probe("GET", STORE_API + "program", expect=HIDDEN)],
    ("store-program", "POST"): lambda world, names: [
        Probe("POST", STORE_API + "program", {"name": "Beta Bread Club"}, ISOLATED, ("Beta Bread Club",))
    ],
    ("store-program", "PATCH"): lambda world, names: [
        Probe("PATCH", STORE_API + "program", {"name": "Renamed", "cooldown_minutes": 60}, ISOLATED)
    ],
    ("store-program", "DELETE"): lambda world, names: [Probe("DELETE", STORE_API + "program", expect=ISOLATED)],
    ("store-stats", "GET"): lambda world, names: [Probe("GET", STORE_API + "stats", expect=HIDDEN)],
    ("store-stats-merchant", "GET"): lambda world, names: [Probe("GET", STORE_API + "stats/merchant", expect=HIDDEN)],
    ("store-stamp", "POST"): lambda world, names: [
        *_operation_probes("stamp", {})(world, names),
        # B's PIN named on A's card, with a wrong PIN: counted against A's store only, same answer as no such PIN.
        _on_own_card(world, "stamp", ISOLATED, staff_pin="9999", staff_pin_id=names.pin_id),
    ],
    ("store-stamp-redeem", "POST"): _operation_probes("stamp/redeem", {}),
    ("store-stamp-void", "POST"): lambda world, names: [
        *_operation_probes("stamp/void", {"stamps_to_void": 1})(world, names),
        _on_own_card(world, "stamp/void", original_transaction_id=names.stamp_transaction_id),
    ],
    ("store-points-earn", "POST"): lambda world, names: [
        *_operation_probes("points/earn", {"purchase_amount_cents": 1000})(world, names),
        # B's order reference is no idempotency key of A: a new booking on A's card, never B's replayed.
        _on_own_card(world, "points/earn", ISOLATED, purchase_amount_cents=700, order_reference=names.order_reference),
    ],
    ("store-points-redeem", "POST"): lambda world, names: [
        *_operation_probes("points/redeem", {"reward_id": world.alpha_reward_id})(world, names),
        _on_own_card(world, "points/redeem", reward_id=names.reward_id),
    ],
    ("store-points-void", "POST"): lambda world, names: [
        *_operation_probes("points/void", {"points_to_void": 10})(world, names),
        _on_own_card(world, "points/void", original_transaction_id=names.earn_transaction_id),
        _on_own_card(world, "points/void", order_reference=names.order_reference),
    ],
    ("store-pin-list", "GET"): lambda world, names: [Probe("GET", STORE_API + "pins", expect=HIDDEN)],
    ("store-pin-list", "POST"): lambda world, names: [
        Probe("POST", STORE_API + "pins", {"name": "Beta baker Bernd", "pin": "4826"}, ISOLATED, ("Beta baker Bernd",))
    ],
    ("store-pin-detail", "PATCH"): lambda world, names: [
        Probe("PATCH", f"{STORE_API}pins/{names.pin_id}", {"name": "Taken over", "pin": "1111", "is_active": False})
    ],
    ("store-pin-detail", "DELETE"): lambda world, names: [Probe("DELETE", f"{STORE_API}pins/{names.pin_id}")],
    ("store-pin-unlock", "POST"): lambda world, names: [Probe("POST", f"{STORE_API}pins/{names.pin_id}/unlock")],
    ("store-card-list", "GET"): lambda world, names: [
        Probe("GET", STORE_API + "cards", {"search": term}, HIDDEN)
        for term in ("", names.email, names.card_number, "Betamann", names.qr_code)
    ]
    + [Probe("GET", STORE_API + "cards", {"is_active": "false"}, HIDDEN)],
    ("store-card-detail", "GET"): lambda world, names: [
        Probe("GET", f"{STORE_API}cards/{card_id}") for card_id in (names.card_id, names.inactive_card_id)
    ],
    ("store-card-transactions", "GET"): lambda world, names: [
        Probe("GET", f"{STORE_API}cards/{names.card_id}/transactions")
    ],
    ("store-card-lookup", "GET"): lambda world, names: [
        Probe("GET", STORE_API + "cards/lookup", {"q": query})
        for query in (names.card_number, names.qr_code, names.email)
    ],
    ("store-card-lookup", "POST"): lambda world, names: [
        Probe("POST", STORE_API + "cards/lookup", card) for card in _card_names(names)
    ],
    ("store-card-enroll", "POST"): lambda world, names: [
        # B's customer's e-mail enrolls a customer of A's own; B's customer is neither found nor changed.
        Probe(
            "POST", STORE_API + "cards/enroll", {"email": names.email, "full_name": "Someone"}, ISOLATED, (names.email,)
        )
    ],
    ("store-card-deactivate", "POST"): lambda world, names: [
        Probe("POST", f"{STORE_API}cards/{names.card_id}/deactivate", {"reason": "Taken over"})
    ],
    ("store-card-reactivate", "POST"): lambda world, names: [
        Probe("POST", f"{STORE_API}cards/{names.inactive_card_id}/reactivate", {"reason": "Taken over"})
    ],
    ("store-card-points-adjust", "POST"): lambda world, names: [
        Probe("POST", f"{STORE_API}cards/{names.card_id}/points/adjust", {"points_delta": -40, "reason": "Taken"})
    ],
    ("store-transaction-list", "GET"): lambda world, names: [
        Probe("GET", STORE_API + "transactions", query, HIDDEN)
        for query in ({}, {"store": names.store_code}, {"type": "POINTS_EARNED"})
    ],
}


def send(client, probe: Probe):
    if probe.method == "GET":
        return client.get(probe.path, probe.payload or {})
    return client.generic(
        probe.method,
        probe.path,
        data=b"" if probe.payload is None else json.dumps(probe.payload),
        content_type="application/json",
    )


def check_answer(probe: Probe, response, world: TwoMerchants) -> None:
    where = f"{probe.method} {probe.path} {probe.payload}"
    assert response.status_code < 500, where
    if probe.expect == NOT_FOUND:
        assert response.status_code == 404, (where, response.content)
        assert error_of(response)["code"].endswith("_NOT_FOUND"), where
    elif probe.expect == HIDDEN:
        assert response.status_code == 200, (where, response.content)
    text = response.content.decode()
    for marker in world.beta_markers:
        if marker not in probe.allowed_markers:
            assert marker not in text, (where, marker)


@pytest.fixture
def two_merchants(db) -> TwoMerchants:
    return build_two_merchants()


def test_every_store_route_has_cross_merchant_probes():
    routes = store_routes()
    assert len(routes) >= 27, routes  # the README's store API; fewer means the walk lost some
    missing = sorted(set(routes) - set(CASES))
    stale = sorted(set(CASES) - set(routes))
    assert not missing, f"store routes without a cross-merchant probe: add them to CASES: {missing}"
    assert not stale, f"CASES names routes that no longer exist: {stale}"


@pytest.mark.parametrize("route", store_routes(), ids=lambda route: f"{route[1]} {route[0]}")
def test_another_merchants_ids_are_not_found_and_change_nothing(two_merchants, route):
    # given merchant A's owner token, and probes naming merchant B's objects on this route
    world = two_merchants
    assert route in CASES, f"no cross-merchant probe for {route}"
    probes = CASES[route](world, world.beta)
    ghosts = CASES[route](world, world.ghost)
    assert probes and len(probes) == len(ghosts)
    for probe, ghost in zip(probes, ghosts, strict=True):
        assert (resolve(probe.path).url_name, probe.method) == route, f"{probe} is not a probe of {route}"
        before = tenant_rows(world.beta_merchant)
        alpha_ledger = LoyaltyTransaction.objects.filter(merchant=world.alpha_card.merchant).count()

        # when
        response = send(world.alpha_owner, probe)

        # then: the answer names nothing of B, and no row of B changed
        check_answer(probe, response, world)
        assert tenant_rows(world.beta_merchant) == before, f"{probe} changed merchant B's rows"
        if probe.expect == NOT_FOUND:
            # nothing written on A's side either, and B's object is indistinguishable from none at all
            assert LoyaltyTransaction.objects.filter(merchant=world.alpha_card.merchant).count() == alpha_ledger
            answer_for_nothing = send(world.alpha_owner, ghost)
            assert (answer_for_nothing.status_code, answer_for_nothing.json()) == (404, response.json()), probe


def test_an_order_reference_of_another_merchant_books_anew_on_the_own_card(two_merchants):
    world = two_merchants
    body = {"card_id": world.alpha_card.pk, "purchase_amount_cents": 700, "order_reference": world.beta.order_reference}

    response = world.alpha_owner.post(STORE_API + "points/earn", body, format="json")

    assert response.status_code == 201, response.content
    assert response.json()["replayed"] is False
    booked = LoyaltyTransaction.objects.get(pk=response.json()["transaction_id"])
    assert (booked.card_id, booked.merchant_id) == (world.alpha_card.pk, world.alpha_card.merchant_id)


def test_statistics_count_the_own_merchant_only(two_merchants):
    # B has two cards and four ledger rows; A has one card, enrolled and credited once.
    world = two_merchants
    program = world.alpha_owner.get(STORE_API + "stats").json()
    merchant = world.alpha_owner.get(STORE_API + "stats/merchant").json()

    assert (program["cards_total"], merchant["cards_total"], merchant["customers_total"]) == (1, 1, 1)


def test_a_pin_id_of_another_merchant_counts_nowhere_but_the_own_store(two_merchants):
    world = two_merchants
    alpha_store = world.alpha_owner.token.store
    body = {"card_id": world.alpha_card.pk, "staff_pin": "9999", "staff_pin_id": world.beta.pin_id}

    response = world.alpha_owner.post(STORE_API + "stamp", body, format="json")
    ghost = world.alpha_owner.post(STORE_API + "stamp", {**body, "staff_pin_id": world.ghost.pin_id}, format="json")

    assert error_of(response)["code"] == "STAFF_PIN_INVALID"
    assert error_of(ghost)["code"] == "STAFF_PIN_INVALID"  # same answer: no oracle for B's PIN ids
    assert StorePinGuard.objects.get(store=alpha_store).failed_attempts == 2
    assert StaffPin.objects.get(pk=world.beta.pin_id).failed_attempts == 5  # as B left it


# --- The back office ---------------------------------------------------------------------------------------------


def _admin_object_urls(model_admin) -> list[tuple[str, str]]:
    """``(url name, converter)`` of the admin's URLs that name one object (or one import) by a path part."""
    urls = []
    for pattern in model_admin.get_urls():
        route = str(pattern.pattern)
        if "<" in route:
            urls.append((pattern.name, route))
    return urls


def _admin_object_url(pattern_route, object_id) -> str:
    return pattern_route.replace("<path:object_id>", str(object_id)).replace("<id>", str(object_id))


@pytest.fixture
def beta_import(world):
    """A CSV import staged by B's owner: its pages are B's objects too."""
    csv = b"email,name,stamps,points\nnew@beta.example.com,New,1,2\n"
    preview = card_import_preview(merchant=world.beta.merchant, data=csv)
    actor = Actor(merchant=world.beta.merchant, store=None, user=world.other_owner, role="owner", channel=Channel.ADMIN)
    return card_import_stage(actor=actor, preview=preview)


def _beta_object(world, label):
    if label == "auth.user":
        return world.other_owner
    if label in TENANT_OBJECTS:
        return _object(world, "beta", label)
    return None


def _beta_markers(world) -> list[str]:
    card = world.beta.card
    return [card.card_number, card.customer.email, world.beta.pin.name, world.beta.store.code]


@pytest.mark.parametrize(
    "label", sorted(model._meta.label_lower for model in admin.site._registry), ids=lambda label: label
)
def test_back_office_object_urls_of_another_merchant_are_not_found(world, clients, beta_import, label):
    """Every object URL of the model's admin (built-in and custom), GET and POST, for A's owner on B's object."""
    model, model_admin = next((m, a) for m, a in admin.site._registry.items() if m._meta.label_lower == label)
    client = clients["owner"]
    obj = _beta_object(world, label)
    base = reverse(f"admin:{model._meta.app_label}_{model._meta.model_name}_changelist")
    before = tenant_rows(world.beta.merchant)
    tried = 0
    for name, route in _admin_object_urls(model_admin):
        if "import_id" in route:
            url = base + route.replace("<str:import_id>", beta_import)
        elif obj is not None:
            url = base + _admin_object_url(route, obj.pk)
        else:
            continue  # a platform model: merchant B has no object there
        for method in ("get", "post"):
            response = getattr(client, method)(url, {"post": "yes", "apply": "1"} if method == "post" else None)
            tried += 1
            where = (label, name, method, url, response.status_code)
            if response.status_code == 302:
                # the bare "<id>/" URL sends on to the change page, which must then be a 404
                followed = client.get(response["Location"])
                assert followed.status_code in (403, 404), (where, response["Location"])
            else:
                assert response.status_code in (403, 404), where
            text = response.content.decode(errors="replace")
            for marker in _beta_markers(world):
                assert marker not in text, (where, marker)
    assert tenant_rows(world.beta.merchant) == before, label
    if obj is not None:
        assert tried, f"{label}: no object URL was probed"


@pytest.mark.parametrize(
    "label",
    sorted(
        model._meta.label_lower
        for model, model_admin in admin.site._registry.items()
        if model_admin.actions and model._meta.label_lower in TENANT_OBJECTS
    ),
)
def test_back_office_actions_on_another_merchants_objects_change_nothing(world, clients, label):
    """Each admin action posted with B's object selected (and its confirmation filled in) by A's owner."""
    model, model_admin = next((m, a) for m, a in admin.site._registry.items() if m._meta.label_lower == label)
    client = clients["owner"]
    url = reverse(f"admin:{model._meta.app_label}_{model._meta.model_name}_changelist")
    request = RequestFactory().post(url)
    request.user = world.owner
    action_names = [name for name in model_admin.get_actions(request) if name != "delete_selected"]
    action_names.append("delete_selected")
    before = tenant_rows(world.beta.merchant)

    for action in action_names:
        response = client.post(
            url,
            {
                "action": action,
                "_selected_action": [_object(world, "beta", label).pk],
                "apply": "1",
                "post": "yes",
                "points_delta": "500",
                "reason": "taken over",
            },
        )
        assert response.status_code in (200, 302, 403), (label, action, response.status_code)
        text = response.content.decode(errors="replace")
        for marker in _beta_markers(world):
            assert marker not in text, (label, action, marker)
    assert tenant_rows(world.beta.merchant) == before, label


def test_an_owner_can_open_their_own_membership_read_only(world, clients):
    """Found by the no-secrets scenario: a 500 where the owner clicks their own row under Memberships."""
    page = clients["owner"].get(reverse("admin:staff_membership_change", args=[world.owner.membership.pk]))

    assert page.status_code == 200
    assert world.owner.username in page.content.decode()


# --- Tokens stop at once -------------------------------------------------------------------------------------


def _remove_store_through_the_service(user, store):
    other = factories.make_store(store.merchant, code="alpha-other")
    membership_update(actor=factories.owner_actor(store), membership=user.membership, stores=[other])


def _deactivate_membership_through_the_service(user, store):
    membership_update(actor=factories.owner_actor(store), membership=user.membership, is_active=False)


def _deactivate_user(user, store):
    user.is_active = False
    user.save(update_fields=["is_active"])


def _change_password(user, store):
    user.set_password("a-new-password-after-a-leak-93")
    user.save()


TAKE_AWAY = {
    "user deactivated": _deactivate_user,
    # a shell's set_password: no form, no service, no signal; the token's password fingerprint stops it
    "password changed": _change_password,
    "membership deactivated (service)": _deactivate_membership_through_the_service,
    "membership deactivated (row only)": lambda user, store: type(user.membership)
    .objects.filter(pk=user.membership.pk)
    .update(is_active=False),
    "store taken from the membership (service)": _remove_store_through_the_service,
    "store taken from the membership (row only)": lambda user, store: user.membership.stores.remove(store),
    "store deactivated": lambda user, store: type(store).objects.filter(pk=store.pk).update(is_active=False),
    # a platform administrator switched the whole merchant off (left the platform, stopped paying)
    "merchant deactivated": lambda user, store: type(store.merchant)
    .objects.filter(pk=store.merchant_id)
    .update(is_active=False),
}


@pytest.mark.parametrize("take_away", TAKE_AWAY.values(), ids=TAKE_AWAY.keys())
def test_a_token_stops_at_the_next_request_once_access_is_taken_away(merchant, store, program, card, take_away):
    # given a manager's till that just stamped
    manager = factories.make_user("manager", merchant, stores=[store])
    till = client_for(manager, store)
    assert till.post(STORE_API + "stamp", {"card_id": card.pk}, format="json").status_code == 201
    ledger = LoyaltyTransaction.objects.filter(card=card).count()
    LoyaltyCard.objects.filter(pk=card.pk).update(last_stamp_at=None)  # no cooldown in the way

    # when access is taken away
    take_away(manager, store)

    # then the very next request, read or write, is refused and writes nothing
    for response in (
        till.post(STORE_API + "stamp", {"card_id": card.pk}, format="json"),
        till.get(STORE_API + "program"),
    ):
        assert (response.status_code, error_of(response)["code"]) == (401, "NOT_AUTHENTICATED")
    assert LoyaltyTransaction.objects.filter(card=card).count() == ledger


def test_a_revoked_token_stops_and_other_tokens_of_the_user_go_on(merchant, store, program, card):
    manager = factories.make_user("manager", merchant, stores=[store])
    till, other_till = client_for(manager, store), client_for(manager, store)

    assert till.delete("/api/v1/auth/token").status_code == 204

    assert (till.get(STORE_API + "program").status_code, till.delete("/api/v1/auth/token").status_code) == (401, 401)
    assert other_till.get(STORE_API + "program").status_code == 200


# --- PIN brute force -----------------------------------------------------------------------------------------

RIGHT_PIN = "739146"


@pytest.fixture
def checkpw_calls(monkeypatch):
    """Every bcrypt check, counted (bcrypt itself still answers)."""
    calls = []
    real = bcrypt.checkpw

    def counting(password, hashed):
        calls.append(password)
        return real(password, hashed)

    monkeypatch.setattr(bcrypt, "checkpw", counting)
    return calls


@pytest.fixture
def shifted_clock(monkeypatch):
    """Move Django's clock forward, as if that much time had passed."""

    real_now = timezone.now

    def shift(delta):
        monkeypatch.setattr(timezone, "now", lambda: real_now() + delta)

    return shift


def test_pin_guessing_over_http_is_bounded_then_locked_until_the_window_passes(
    settings, merchant, store, program, card, checkpw_calls, shifted_clock
):
    # given a store whose program needs the PIN, and two tills of the store
    settings.LOYALTY_PIN_MAX_FAILED_ATTEMPTS = 5
    settings.LOYALTY_PIN_LOCKOUT_MINUTES = 30
    Program.objects.filter(pk=program.pk).update(require_staff_pin=True, cooldown_minutes=0)
    factories.make_pin(store, pin=RIGHT_PIN, name="Dana")
    till = client_for(factories.make_user("staff", merchant, stores=[store]), store)
    second_till = client_for(factories.make_user("staff", merchant, stores=[store]), store)

    def stamp(client, pin, **extra):
        return client.post(STORE_API + "stamp", {"card_id": card.pk, "staff_pin": pin, **extra}, format="json")

    # when someone guesses
    answers = [stamp(till, f"{100000 + guess}") for guess in range(5)]

    # then four wrong PINs count down, the fifth locks, each cost one bcrypt check
    assert [(a.status_code, error_of(a)["code"]) for a in answers] == [(422, "STAFF_PIN_INVALID")] * 4 + [
        (423, "STAFF_PIN_LOCKED")
    ]
    assert [error_of(a)["details"]["attempts_left"] for a in answers[:4]] == [4, 3, 2, 1]
    assert "locked_until" in error_of(answers[4])["details"]
    assert len(checkpw_calls) == 5

    # and while locked: more guesses, the right PIN, another till, another endpoint, a named PIN — all 423,
    # and no further bcrypt check, so guessing costs nothing more and learns nothing
    locked = [
        stamp(till, "222222"),
        stamp(till, RIGHT_PIN),
        stamp(second_till, RIGHT_PIN),
        stamp(till, RIGHT_PIN, staff_pin_id=StaffPin.objects.get(store=store).pk),
        till.post(
            STORE_API + "points/earn",
            {"card_id": card.pk, "purchase_amount_cents": 500, "staff_pin": RIGHT_PIN},
            format="json",
        ),
    ]
    assert [(a.status_code, error_of(a)["code"]) for a in locked] == [(423, "STAFF_PIN_LOCKED")] * 5
    assert len(checkpw_calls) == 5
    assert not LoyaltyTransaction.objects.filter(card=card).exclude(type="CARD_ENROLLED").exists()

    # a minute before the window ends: still locked
    shifted_clock(timedelta(minutes=29))
    assert stamp(till, RIGHT_PIN).status_code == 423
    assert len(checkpw_calls) == 5

    # once it has passed: the right PIN works (one bcrypt check) and the count starts again
    shifted_clock(timedelta(minutes=31))
    passed = stamp(till, RIGHT_PIN)
    assert passed.status_code == 201, passed.content
    assert len(checkpw_calls) == 6
    assert StorePinGuard.objects.get(store=store).failed_attempts == 0
    wrong_again = stamp(till, "333333")
    assert (wrong_again.status_code, error_of(wrong_again)["details"]["attempts_left"]) == (422, 4)


# --- Apple web service: constant-time token check ------------------------------------------------------------------

PASS_TYPE = "pass.dev.loyalty.local"
APPLE = "/api/v1/loyalty/apple/v1"
DEVICE = "a1b2c3d4e5f60718293a4b5c6d7e8f90"


@pytest.fixture
def compare_digest_calls(monkeypatch):
    """Every ``hmac.compare_digest`` call, recorded (the real function still answers)."""
    calls = []
    real = hmac.compare_digest

    def recording(left, right):
        calls.append((left, right))
        return real(left, right)

    monkeypatch.setattr(hmac, "compare_digest", recording)
    return calls


def _apple_requests(apple_pass, token):
    """The three requests that carry a pass's token: register, latest pass, unregister."""
    headers = {"HTTP_AUTHORIZATION": f"ApplePass {token}"}
    registration = f"{APPLE}/devices/{DEVICE}/registrations/{PASS_TYPE}/{apple_pass.serial_number}"
    client = Client(enforce_csrf_checks=True)
    return {
        "register": lambda: client.post(
            registration, '{"pushToken": "abc"}', content_type="application/json", **headers
        ),
        "latest pass": lambda: client.get(f"{APPLE}/passes/{PASS_TYPE}/{apple_pass.serial_number}", **headers),
        "unregister": lambda: client.delete(registration, **headers),
    }


def test_apple_pass_tokens_are_compared_with_compare_digest_whatever_their_length(
    apple_settings, card, compare_digest_calls
):
    apple_pass = apple_pass_get_or_create(card=card)
    real = apple_pass.authentication_token
    wrong_same_length = ("B" if real[0] != "B" else "C") + real[1:]
    wrong_tokens = [wrong_same_length, "x", real[:-1], real + "x", real * 3, real[::-1]]

    answers = set()
    for token in wrong_tokens:
        for name, call in _apple_requests(apple_pass, token).items():
            compare_digest_calls.clear()
            response = call()
            answers.add((response.status_code, response.content))
            # the one comparison of the sent token with the pass's token went through compare_digest
            assert (token.encode(), real.encode()) in compare_digest_calls, (name, token)
    refusal = b'{"error": {"code": "UNAUTHORIZED", "message": "Authentication failed.", "details": {}}}'
    assert answers == {(401, refusal)}

    # an unknown serial costs a comparison too (against a stand-in), so timing does not tell serials apart
    compare_digest_calls.clear()
    unknown = Client().get(f"{APPLE}/passes/{PASS_TYPE}/{'f' * 32}", HTTP_AUTHORIZATION=f"ApplePass {real}")
    assert unknown.status_code == 404 and len(compare_digest_calls) == 1


def test_the_apple_token_check_follows_compare_digest_alone(apple_settings, card, monkeypatch):
    """If compare_digest says "equal", the view accepts: no ``==`` or other shortcut decides before or beside it."""
    apple_pass = apple_pass_get_or_create(card=card)
    wrong = "Z" * len(apple_pass.authentication_token)
    real_compare = hmac.compare_digest
    monkeypatch.setattr(hmac, "compare_digest", lambda left, right: left == wrong.encode() or real_compare(left, right))

    assert _apple_requests(apple_pass, wrong)["latest pass"]().status_code == 200
