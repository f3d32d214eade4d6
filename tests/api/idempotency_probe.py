"""Ten tills send one stamp with one Idempotency-Key at the same instant.

``send_together`` is the scenario: real threads, each with its own client
(and so its own database connection), the same token, body and key,
released together at a barrier; each behaves like the till app and sends
the same request again, after a moment, while the answer is
``REQUEST_IN_PROGRESS`` or a 503. ``test_idempotency.py`` runs it in-process
on PostgreSQL, and runs this module in a process of its own on the embedded
default, a SQLite file (the suite's SQLite test database lives in memory with
shared-cache locking, which fails at once where a file database waits).
That run prints one JSON line: the kinds of the first and of the final
answers, how many distinct final bodies there were, and the stamp rows.
"""

import json
import os
import threading
import time

STAMP = "/api/v1/store/loyalty/stamp"
RETRY_CODES = {"REQUEST_IN_PROGRESS", "SERVICE_UNAVAILABLE"}


def answer_kind(response) -> str:
    if response.status_code == 201:
        return "replay" if response.get("Idempotent-Replayed") == "true" else "original"
    return response.json()["error"]["code"]


def send_together(*, authorization: str, card_id: int, key: str, count: int = 10) -> tuple[list, list]:
    """The first and the final answer of each of ``count`` threads; an exception in place of an answer."""
    from django.db import connection
    from rest_framework.test import APIClient

    barrier = threading.Barrier(count)
    first_answers, final_answers = [None] * count, [None] * count

    def fire(index):
        client = APIClient()
        client.credentials(HTTP_AUTHORIZATION=authorization)

        def send():
            return client.post(STAMP, {"card_id": card_id}, format="json", HTTP_IDEMPOTENCY_KEY=key)

        try:
            barrier.wait(timeout=30)
            answer = first_answers[index] = send()
            for _retry in range(100):
                if answer.status_code == 201 or answer_kind(answer) not in RETRY_CODES:
                    break
                time.sleep(0.05)
                answer = send()
            final_answers[index] = answer
        except Exception as error:  # reported to the caller
            final_answers[index] = error
        finally:
            connection.close()

    threads = [threading.Thread(target=fire, args=(index,)) for index in range(count)]
    for thread in threads:
        thread.start()
    for thread in threads:
        thread.join(timeout=120)
    if any(thread.is_alive() for thread in threads):
        raise AssertionError("a thread is stuck")
    return first_answers, final_answers


def main() -> None:
    os.environ.setdefault("DJANGO_SETTINGS_MODULE", "loyalty_site.settings")
    import django

    django.setup()
    from django.core.management import call_command

    from loyalty.models import LoyaltyCard, LoyaltyTransaction, TransactionType
    from staff.services.tokens import token_issue
    from tests import factories

    call_command("migrate", verbosity=0)
    merchant = factories.make_merchant("Probe café")
    store = factories.make_store(merchant)
    factories.make_program(merchant, cooldown_minutes=0, max_daily_stamps=50)
    card = factories.make_card(store)
    user = factories.make_user("staff", merchant, stores=[store])
    token = token_issue(username=user.username, password=factories.PASSWORD, store_code=store.code)

    first, final = send_together(authorization=f"Token {token.key}", card_id=card.pk, key="one-tap-4c1e")

    errors = [repr(answer) for answer in final if isinstance(answer, Exception)]
    answers = [answer for answer in final if not isinstance(answer, Exception)]
    stamps = LoyaltyTransaction.objects.filter(card=card, type=TransactionType.STAMP_EARNED)
    report = {
        "errors": errors,
        "first": sorted(answer_kind(answer) for answer in first if answer is not None),
        "final": sorted(answer_kind(answer) for answer in answers),
        "distinct_bodies": len({answer.content for answer in answers}),
        "stamp_rows": [row.pk for row in stamps],
        "answered_transaction_ids": sorted(
            {answer.json()["transaction_id"] for answer in answers if answer.status_code == 201}
        ),
        "stamp_count": LoyaltyCard.objects.get(pk=card.pk).stamp_count,
    }
    print(json.dumps(report))


if __name__ == "__main__":
    main()
