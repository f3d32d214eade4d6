"""Run by ``test_pin_check_on_sqlite.py`` in a process of its own, on the embedded default: a SQLite file.

One till's PIN check is held inside bcrypt while two other stores stamp,
one without a PIN and one with its own PIN. Prints one JSON line: which of
them finished while the first was held, and how each operation ended.
"""

import json
import os
import threading
import time

import django

HOLD_SECONDS = 10.0  # what the other stores get to finish in while the first PIN is inside bcrypt


def main() -> None:
    os.environ.setdefault("DJANGO_SETTINGS_MODULE", "loyalty_site.settings")
    django.setup()

    from django.core.management import call_command
    from django.db import connection

    from loyalty.models import LoyaltyTransaction, TransactionType
    from loyalty.domain.cards import CardRef
    from loyalty.services.stamps import stamp_add
    from tests import factories
    from tests.support.bcrypt_hold import bcrypt_held

    call_command("migrate", verbosity=0)
    merchant = factories.make_merchant("Probe café")
    factories.make_program(merchant, cooldown_minutes=0)
    stores = {name: factories.make_store(merchant) for name in ("held", "without_pin", "other_pin")}
    factories.make_pin(stores["held"], pin="4821")
    factories.make_pin(stores["other_pin"], pin="1357")
    pins = {"held": "4821", "without_pin": None, "other_pin": "1357"}
    cards = {name: factories.make_card(store) for name, store in stores.items()}

    outcomes = {}

    def stamp(name):
        try:
            stamp_add(
                actor=factories.till_actor(stores[name]), card_ref=CardRef(card_id=cards[name].pk), staff_pin=pins[name]
            )
            outcomes[name] = "stamped"
        except Exception as error:  # reported, for the test to show
            outcomes[name] = repr(error)
        finally:
            connection.close()

    with bcrypt_held("4821") as (inside_bcrypt, release):
        held = threading.Thread(target=stamp, args=("held",))
        held.start()
        assert inside_bcrypt.wait(30), "the held PIN check never reached bcrypt"
        others = [threading.Thread(target=stamp, args=(name,)) for name in ("without_pin", "other_pin")]
        for thread in others:
            thread.start()
        deadline = time.monotonic() + HOLD_SECONDS
        for thread in others:
            thread.join(timeout=max(deadline - time.monotonic(), 0))
        finished_while_held = sorted(name for name in ("without_pin", "other_pin") if name in outcomes)
        release.set()
        for thread in (held, *others):
            thread.join(timeout=60)

    stamps = LoyaltyTransaction.objects.filter(type=TransactionType.STAMP_EARNED).count()
    print(json.dumps({"finished_while_held": finished_while_held, "outcomes": outcomes, "stamps": stamps}))


if __name__ == "__main__":
    main()
