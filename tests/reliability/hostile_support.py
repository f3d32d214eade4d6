"""What the hostile-input tests share: a merchant world worth attacking, and the checks every answer must pass.

``build_world()`` makes one merchant with a hybrid program that requires the
staff PIN, rewards, PINs, cards with history (stamps, points with an order
reference, an inactive card), a second merchant's card, an owner token, a
platform-admin token and a staff login — so generated requests that carry
real ids reach the services, not only the 404s.

The fuzzers call the WSGI application directly (as a server would), so
Django's "close old connections" handlers must not run between requests: they
would close the connection that holds the test's transaction. Django's own
test client unhooks them for the same reason; ``in_process_wsgi`` does it here.
"""

import json
from contextlib import contextmanager
from dataclasses import dataclass

import pytest
from django.core.cache import cache
from django.core.signals import request_finished, request_started
from django.db import close_old_connections, transaction

from loyalty.domain.cards import CardRef
from loyalty.models import LoyaltyCard, LoyaltyTransaction
from loyalty.services.cards import card_deactivate
from loyalty.services.points import points_earn
from loyalty.services.stamps import stamp_add
from staff.models import ApiToken, StaffPin
from staff.services.tokens import token_issue
from tests import factories
from tests.factories import PASSWORD

STAFF_PIN = "2468"
ORDER_REFERENCE = "POS-HOSTILE-0001"
# Every rate far above what a test sends: a 429 would hide what the request would have done.
GENEROUS_RATES = {"login": "100000/min", "enroll": "100000/min", "public": "100000/min", "scan": "100000/min"}


@dataclass
class World:
    """The ids, codes and secrets a hostile client could know or guess."""

    merchant_id: int
    store_code: str
    program_id: int
    card_ids: list[int]
    inactive_card_id: int
    other_card_id: int
    card_numbers: list[str]
    qr_codes: list[str]
    public_tokens: list[str]
    emails: list[str]
    reward_ids: list[int]
    pin_ids: list[int]
    transaction_ids: list[int]
    owner_key: str
    admin_key: str
    staff_username: str
    other_store_code: str
    other_merchant_id: int

    @property
    def all_card_ids(self) -> list[int]:
        return [*self.card_ids, self.inactive_card_id, self.other_card_id]


def build_world() -> World:
    """One merchant with history, plus a neighbour whose ids must stay out of reach."""
    merchant = factories.make_merchant("Hostile Café")
    store = factories.make_store(merchant, code="hostile-center")
    program = factories.make_program(
        merchant, cooldown_minutes=0, max_daily_stamps=100, stamps_target=3, require_staff_pin=True
    )
    rewards = [factories.make_reward(program, "Croissant", 50), factories.make_reward(program, "Cake", 500)]
    pins = [factories.make_pin(store, pin=STAFF_PIN, name="Sam"), factories.make_pin(store, pin="13579", name="Kim")]
    cards = [factories.make_card(store, email=f"hostile{index}@example.com") for index in range(3)]
    inactive = factories.make_card(store, email="hostile-inactive@example.com")

    till = factories.till_actor(store)
    written = []
    for _ in range(4):  # more than the target: the stamp reward can be redeemed and stamps voided
        written.append(stamp_add(actor=till, card_ref=CardRef(card_id=cards[0].pk), staff_pin=STAFF_PIN).transaction)
    written.append(
        points_earn(
            actor=till,
            card_ref=CardRef(card_id=cards[0].pk),
            purchase_amount_cents=12_345,
            order_reference=ORDER_REFERENCE,
            staff_pin=STAFF_PIN,
        ).transaction
    )
    card_deactivate(actor=factories.owner_actor(store), card_ref=CardRef(card_id=inactive.pk), reason="lost")

    other_merchant = factories.make_merchant("Neighbour Bakery")
    other_store = factories.make_store(other_merchant, code="neighbour-shop")
    factories.make_program(other_merchant, name="Neighbour Card")
    other_card = factories.make_card(other_store, email="neighbour@example.com")

    owner = factories.make_user("owner", merchant, password=PASSWORD)
    staff = factories.make_user("staff", merchant, stores=[store], password=PASSWORD)
    admin = factories.make_admin(password=PASSWORD)
    everyone = [*cards, inactive, other_card]
    return World(
        merchant_id=merchant.pk,
        store_code=store.code,
        program_id=program.pk,
        card_ids=[card.pk for card in cards],
        inactive_card_id=inactive.pk,
        other_card_id=other_card.pk,
        card_numbers=[card.card_number for card in everyone],
        qr_codes=[card.qr_code_data for card in everyone],
        public_tokens=[card.public_token for card in everyone],
        emails=[card.customer.email for card in everyone],
        reward_ids=[reward.pk for reward in rewards],
        pin_ids=[pin.pk for pin in pins],
        transaction_ids=[written_transaction.pk for written_transaction in written],
        owner_key=token_issue(username=owner.username, password=PASSWORD, store_code=store.code).key,
        admin_key=token_issue(username=admin.username, password=PASSWORD, store_code=None).key,
        staff_username=staff.username,
        other_store_code=other_store.code,
        other_merchant_id=other_merchant.pk,
    )


@dataclass(frozen=True)
class Snapshot:
    """What no refused request may change: every card's counters, the ledger, PINs and tokens."""

    cards: tuple
    transactions: int
    pins: tuple
    live_tokens: int

    @classmethod
    def take(cls) -> "Snapshot":
        return cls(
            cards=tuple(
                LoyaltyCard.objects.order_by("pk").values_list(
                    "pk", "stamp_count", "points_balance", "total_stamps_earned", "total_points_earned", "is_active"
                )
            ),
            transactions=LoyaltyTransaction.objects.count(),
            pins=tuple(StaffPin.objects.order_by("pk").values_list("pk", "is_active", "failed_attempts", "name")),
            live_tokens=ApiToken.objects.filter(revoked_at__isnull=True).count(),
        )


def assert_error_shape(status_code: int, content_type: str, content: bytes) -> dict:
    """The one error body every API error has: ``{"error": {"code", "message", "details"}}``; returns ``error``."""
    assert content_type.startswith("application/json"), (status_code, content_type, content[:200])
    body = json.loads(content)
    assert isinstance(body, dict) and set(body) == {"error"}, (status_code, body)
    error = body["error"]
    assert isinstance(error, dict) and set(error) == {"code", "message", "details"}, (status_code, body)
    assert isinstance(error["code"], str) and error["code"].isupper(), (status_code, body)
    assert isinstance(error["message"], str) and error["message"], (status_code, body)
    assert isinstance(error["details"], dict), (status_code, body)
    return error


@contextmanager
def rolled_back():
    """A savepoint undone on exit: each generated request starts from the same world.

    Revoking the token, deleting a PIN or deactivating the program cannot
    leak into the next example, so every example runs with a valid token.
    """
    with transaction.atomic():
        yield
        transaction.set_rollback(True)


@pytest.fixture
def in_process_wsgi():
    """Call the WSGI application inside the test's transaction (see the module docstring)."""
    request_started.disconnect(close_old_connections)
    request_finished.disconnect(close_old_connections)
    yield
    request_started.connect(close_old_connections)
    request_finished.connect(close_old_connections)


@pytest.fixture
def generous_throttles(settings):
    settings.REST_FRAMEWORK = {**settings.REST_FRAMEWORK, "DEFAULT_THROTTLE_RATES": dict(GENEROUS_RATES)}
    cache.clear()
    yield settings
    cache.clear()


@pytest.fixture
def world(db, fast_passwords, generous_throttles) -> World:
    return build_world()
