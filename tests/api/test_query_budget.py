"""Query budgets of the till's hot paths, with a staff PIN required (the demo's and most merchants' setting).

Counts are SQL statements as Django sees them, savepoints included (the test
runs inside a transaction, so each ``atomic`` block is a savepoint pair).
Measured on SQLite and PostgreSQL alike: lookup 2; stamp 20 once the store's
PIN guard row exists (the very first PIN check creates it); earn 20. A
budget that grows means a new query per request at every till, many times an
hour: look before raising it. The PIN check is 12 of them: it counts the
attempt in one short transaction before bcrypt and takes it back in another
after, so that bcrypt holds no lock (README "Staff PINs"); the merchant's
lockout settings come with the program's one read.

An ``Idempotency-Key`` costs nothing when absent. With one, a write costs 3
statements more (5 here, with the savepoint pair around the claim): the
claim's INSERT before the operation, the "executed" mark in the operation's
own transaction, the answer stored after. A replay is the token, the claim's
INSERT that finds the key taken and the read of its answer: no PIN check,
no card, no program.
"""

import pytest

from tests import factories
from tests.api.conftest import client_for

BASE = "/api/v1/store/loyalty/"

LOOKUP_BUDGET = 2  # token (with membership and store); card (+program, customer, store, stamps today, alert, rewards)
# + program (with the merchant's PIN settings), PIN check (savepoint, locked guard, failure row, guard count, PIN row,
# release; savepoint, locked guard, last used, failure row back, guard count, release), card lock, day's count,
# update, ledger
STAMP_BUDGET = 20
EARN_BUDGET = 20  # the order reference's lookup instead of the day's count
KEY_COST = 5  # claim (savepoint, insert, release), executed mark, answer stored
REPLAY_BUDGET = 6  # token, claim (savepoint, insert refused, rollback to and release), stored answer


@pytest.fixture
def till(merchant, store):
    program = factories.make_program(merchant, require_staff_pin=True, cooldown_minutes=0, max_daily_stamps=50)
    factories.make_reward(program, "Croissant", 10)
    factories.make_pin(store, "2580")
    card = factories.make_card(store)
    client = client_for(factories.make_user("staff", merchant, stores=[store]), store)
    # Warm up what happens once per store or per minute, not per operation.
    client.post(BASE + "stamp", {"card_id": card.pk, "staff_pin": "2580"}, format="json")
    return client, card


@pytest.mark.django_db
def test_lookup_budget(till, django_assert_max_num_queries):
    client, card = till
    with django_assert_max_num_queries(LOOKUP_BUDGET):
        response = client.get(BASE + "cards/lookup", {"q": card.card_number})
    assert response.status_code == 200 and response.json()["stamps_today"] == 1


@pytest.mark.django_db
def test_stamp_budget(till, django_assert_max_num_queries):
    client, card = till
    with django_assert_max_num_queries(STAMP_BUDGET):
        response = client.post(BASE + "stamp", {"card_number": card.card_number, "staff_pin": "2580"}, format="json")
    assert response.status_code == 201


@pytest.mark.django_db
def test_points_earn_budget(till, django_assert_max_num_queries):
    client, card = till
    with django_assert_max_num_queries(EARN_BUDGET):
        response = client.post(
            BASE + "points/earn",
            {
                "qr_code": card.qr_code_data,
                "purchase_amount_cents": 450,
                "order_reference": "POS-1",
                "staff_pin": "2580",
            },
            format="json",
        )
    assert response.status_code == 201


@pytest.mark.django_db
def test_stamp_with_an_idempotency_key_budget(till, django_assert_max_num_queries):
    client, card = till
    body = {"card_number": card.card_number, "staff_pin": "2580"}
    with django_assert_max_num_queries(STAMP_BUDGET + KEY_COST):
        response = client.post(BASE + "stamp", body, format="json", HTTP_IDEMPOTENCY_KEY="till-1")
    assert response.status_code == 201

    with django_assert_max_num_queries(REPLAY_BUDGET):
        replay = client.post(BASE + "stamp", body, format="json", HTTP_IDEMPOTENCY_KEY="till-1")
    assert (replay.status_code, replay["Idempotent-Replayed"]) == (201, "true")


@pytest.mark.django_db
def test_points_earn_with_an_idempotency_key_budget(till, django_assert_max_num_queries):
    client, card = till
    body = {"qr_code": card.qr_code_data, "purchase_amount_cents": 450, "order_reference": "POS-1", "staff_pin": "2580"}
    with django_assert_max_num_queries(EARN_BUDGET + KEY_COST):
        response = client.post(BASE + "points/earn", body, format="json", HTTP_IDEMPOTENCY_KEY="till-2")
    assert response.status_code == 201


@pytest.mark.django_db
def test_lookup_does_not_grow_with_the_catalog_or_history(till, django_assert_max_num_queries):
    client, card = till
    program = card.program
    for index in range(20):
        factories.make_reward(program, f"Reward {index}", 1 + index)
        client.post(
            BASE + "points/earn", {"card_id": card.pk, "purchase_amount_cents": 100, "staff_pin": "2580"}, format="json"
        )
    with django_assert_max_num_queries(LOOKUP_BUDGET):
        response = client.post(BASE + "cards/lookup", {"card_id": card.pk}, format="json")
    assert len(response.json()["available_rewards"]) >= 10
