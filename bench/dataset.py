"""The million-row data set of section 5 ("Scale of reads") and 6 (CSV export memory).

``generate()`` fills the current (migrated) PostgreSQL database with what a
year of a busy platform looks like: 100 merchants with 1–3 stores and a
program each (stamps, points or both) and a few rewards; 100,000 customers
with one card each, spread very unequally (the first merchants are the big
ones: "Bench Merchant 000" holds about a fifth of everything); 1,000,000
ledger rows over the past year, mostly stamps and points earned with some
redemptions and voids; 20,000 Apple Wallet passes with change tags and a
few thousand device registrations (``BENCH_DEVICE`` among them), so the
PassKit "serials updated since" query has real data.

The data is consistent, as the services would have left it: each card's
first row is its enrollment, every ``*_balance_after`` is the running total,
the card's balances and lifetime counters equal its ledger sums, a void
names the transaction it undoes (at most once), order references are unique
per merchant.

As in production, ids follow time: customers and cards are numbered in
order of enrollment and the ledger rows of all cards are interleaved in
time order (a ledger written card after card would sit grouped by merchant
on disk, and the planner would choose differently than on a real one).

Speed (about 45 s on the 2-core CI machine, ~450 MB of memory for the
ledger held in time order): the small tables go through the ORM, the big
ones through PostgreSQL ``COPY`` with ids reserved from their sequences up
front, so cards, ledger rows and voids refer to each other without reading
anything back; all in one transaction. The plain indexes of the three big
tables are dropped and built again after their ``COPY``; as a superuser the
per-row foreign-key triggers are skipped and every reference is checked
set-wise instead. A ``VACUUM (ANALYZE)`` at the end leaves the tables as
autovacuum keeps live ones. Everything is drawn from a seeded random
generator: two runs make the same data set.
"""

from __future__ import annotations

import argparse
import base64
import os
import random
import sys
import time
from bisect import bisect_right
from contextlib import contextmanager
from dataclasses import dataclass, field
from datetime import UTC, datetime, timedelta
from itertools import accumulate
from operator import itemgetter

BENCH_MERCHANT_PREFIX = "Bench Merchant "
BENCH_MARKER = BENCH_MERCHANT_PREFIX + "000"  # the biggest merchant; its presence means "already generated"
BENCH_DEVICE = "benchdevice0000000000000000000000"  # an iPhone with several passes of the data set
BENCH_DEVICE_PASSES = 6
SEED = 20_260_110
YEAR = timedelta(days=365)
DAY = timedelta(days=1)
REGISTERED_SHARE = 0.25  # passes that some device registered for pushes
QUICK_SIZE = {"merchants": 10, "cards": 10_000, "transactions": 100_000}  # --quick: a tenth
PROGRESS_STEP = 20_000  # rows between two progress-bar updates (tqdm per row would cost more than the rows)

FIRST_NAMES = (
    "olivia", "liam", "emma", "noah", "mia", "lucas", "lea", "louis", "anna", "paul", "sofia", "ben",
    "marie", "tom", "julia", "max", "laura", "felix", "chloe", "jules", "nora", "leon", "ella", "hugo",
)
LAST_NAMES = (
    "muller", "schmit", "weber", "martin", "hoffmann", "thill", "bernard", "dubois", "wagner", "becker",
    "kieffer", "reuter", "schneider", "klein", "meyer", "fischer", "thomas", "lambert", "petit", "faber",
)
DOMAINS = ("example.com", "example.lu", "example.org", "example.net", "example.fr", "example.de")
LANGUAGES = ("en", "fr", "de", "lb")
TIME_ZONES = ("Europe/Luxembourg", "Europe/Paris", "Europe/Berlin", "Europe/Brussels")
USER_AGENTS = ("LoyaltyScanner/2.3 (iOS 17.4)", "LoyaltyScanner/2.3 (Android 14)", "LoyaltyScanner/2.2 (iPadOS 17)")
IP_ADDRESSES = tuple(f"192.0.2.{n}" for n in range(1, 60))


class DatasetExists(Exception):
    """``fresh=True`` on a database that already holds the data set: drop and recreate the database instead."""


# --- Environment ----------------------------------------------------------------------------------


def configure(database_url: str | None = None) -> None:
    """Set the bench environment (bench/environment.py) unless the caller did, set Django up, migrate.

    For running a module of the bench on its own: ``python -m bench.dataset``.
    """
    from bench import environment

    environment.setup_django(database_url)
    from django.core.management import call_command

    call_command("migrate", verbosity=0)


def database_from_argv(argv=None, *, description: str = "") -> argparse.Namespace:
    parser = argparse.ArgumentParser(description=description)
    parser.add_argument(
        "--database", default=os.environ.get("BENCH_DATABASE_URL"),
        help="PostgreSQL URL of the bench database (default: BENCH_DATABASE_URL, else bench/environment.py's)",
    )
    parser.add_argument("--quick", action="store_true", help="a data set of 1/10 size")
    return parser.parse_args(argv)


def section_main(argv, *, run, description: str) -> int:
    """A section's own ``python -m bench.<section>``: the data set (made first if missing), then ``run()``'s figures."""
    args = database_from_argv(argv, description=description)
    configure(args.database)
    from bench.report import markdown

    generate(progress=True, **(QUICK_SIZE if args.quick else {}))
    figures = run()
    print(markdown(figures))
    return 1 if any(figure.passed is False for figure in figures) else 0


# --- The shape of the data set ------------------------------------------------------------------------


@dataclass
class MerchantPlan:
    """One generated merchant and the ids the big tables refer to."""

    merchant_id: int
    program_id: int
    loyalty_type: str
    stamps_target: int
    points_per_euro: int
    store_ids: list[int]
    rewards: list[tuple[int, int]]  # (id, points_required), cheapest first
    cards: int = 0


@dataclass
class CardState:
    """A card's balances and counters while its ledger is written (they become its row)."""

    stamp_count: int = 0
    total_stamps_earned: int = 0
    stamps_redeemed: int = 0
    total_stamps_voided: int = 0
    points_balance: int = 0
    total_points_earned: int = 0
    points_redeemed: int = 0
    total_points_voided: int = 0
    last_stamp_at: datetime | None = None
    last_points_at: datetime | None = None
    last_redemption_at: datetime | None = None
    last_activity_at: datetime | None = None
    open_stamp: list | None = None  # the last stamp row not yet voided
    open_earning: list | None = None  # the last earning row not yet voided
    receipts: int = 0  # earnings so far: numbers the card's order references


@dataclass
class Progress:
    """A tqdm bar on stderr (or nothing), fed in steps."""

    enabled: bool
    total: int
    bar: object = None
    pending: int = 0
    counts: dict = field(default_factory=dict)

    def __enter__(self):
        if self.enabled:
            from tqdm import tqdm

            self.bar = tqdm(total=self.total, unit="row", unit_scale=True, desc="bench data set", file=sys.stderr)
        return self

    def add(self, rows: int = 1) -> None:
        self.pending += rows
        if self.pending >= PROGRESS_STEP:
            self.flush()

    def flush(self) -> None:
        if self.bar is not None and self.pending:
            self.bar.update(self.pending)
        self.pending = 0

    def __exit__(self, *exc):
        self.flush()
        if self.bar is not None:
            self.bar.close()


def merchant_weights(merchants: int) -> list[float]:
    """Zipf-like shares: merchant 0 is about 5× merchant 4 and 100× merchant 99, as on a real platform."""
    return [1.0 / (rank + 1) for rank in range(merchants)]


def split(total: int, weights: list[float], rng: random.Random, minimum: int = 0) -> list[int]:
    """``total`` shared in proportion to ``weights`` (each at least ``minimum``), summing exactly to ``total``."""
    scale = sum(weights)
    shares = [max(minimum, int(total * weight / scale)) for weight in weights]
    cumulative = list(accumulate(weights))
    missing = total - sum(shares)
    for _ in range(missing):  # what rounding down left over, drawn by weight
        shares[min(bisect_right(cumulative, rng.random() * cumulative[-1]), len(shares) - 1)] += 1
    for _ in range(-missing):  # only when minimums pushed the sum over
        shares[max(range(len(shares)), key=shares.__getitem__)] -= 1
    return shares


def luhn_card_number(index: int) -> str:
    """A unique, valid 12-digit card number for the ``index``-th card (a bijection that does not look sequential)."""
    from loyalty.domain.identifiers import luhn_check_digit

    space = 9 * 10**10
    body = str(10**10 + (index * 48_271 + 12_345_678_901) % space)
    return body + luhn_check_digit(body)


def token(rng: random.Random, size: int = 24) -> str:
    """What ``new_secret_token`` makes (URL-safe base64 of 192 bits), from the seeded generator."""
    return base64.urlsafe_b64encode(rng.getrandbits(size * 8).to_bytes(size, "big")).decode().rstrip("=")


# --- Generation -------------------------------------------------------------------------------------------------


def existing_counts() -> dict | None:
    """The data set's counts when it is already in the database, else None."""
    from loyalty.models import LoyaltyCard, LoyaltyTransaction, Merchant
    from wallet.models import AppleDeviceRegistration, ApplePass

    merchants = Merchant.objects.filter(name__startswith=BENCH_MERCHANT_PREFIX)
    if not merchants.filter(name=BENCH_MARKER).exists():
        return None
    ids = list(merchants.values_list("pk", flat=True))
    return {
        "merchants": len(ids),
        "cards": LoyaltyCard.objects.filter(merchant_id__in=ids).count(),
        "transactions": LoyaltyTransaction.objects.filter(merchant_id__in=ids).count(),
        "apple_passes": ApplePass.objects.filter(card__merchant_id__in=ids).count(),
        "device_registrations": AppleDeviceRegistration.objects.filter(
            apple_pass__card__merchant_id__in=ids
        ).count(),
    }


def generate(
    *,
    merchants: int = 100,
    cards: int = 100_000,
    transactions: int = 1_000_000,
    apple_passes: int | None = None,
    progress: bool = True,
    fresh: bool = False,
) -> dict:
    """Fill the database with the data set; returns the row counts and the seconds it took.

    When the data set is already there (a merchant named ``BENCH_MARKER``)
    this returns its counts at once, or raises ``DatasetExists`` with
    ``fresh=True``. ``apple_passes`` defaults to a fifth of the cards.
    """
    began = time.monotonic()
    found = existing_counts()
    if found is not None:
        if fresh:
            raise DatasetExists(f"{BENCH_MARKER!r} is already in this database: recreate the database instead")
        return {**found, "seconds": round(time.monotonic() - began, 2), "status": "reused"}
    if transactions < cards:
        raise ValueError("every card has at least its enrollment row: transactions must be >= cards")
    apple_passes = cards // 5 if apple_passes is None else min(apple_passes, cards)

    from django.db import connection, transaction

    if connection.vendor != "postgresql":
        raise SystemExit("bench: the data set is loaded with PostgreSQL COPY; DATABASE_URL must be PostgreSQL")
    rng = random.Random(SEED)
    now = datetime.now(UTC).replace(microsecond=0)
    total_rows = cards * 2 + transactions + apple_passes
    with Progress(progress, total_rows) as bar, transaction.atomic():
        plans = _small_tables(merchants, rng)
        for plan, count in zip(plans, split(cards, merchant_weights(merchants), rng, minimum=1), strict=True):
            plan.cards = count
        with connection.cursor() as cursor:
            raw = cursor.cursor
            checks_deferred = _defer_reference_checks(raw)
            counts = _big_tables(raw, plans, cards=cards, transactions=transactions, now=now, rng=rng, bar=bar)
            counts.update(_wallet_tables(raw, counts.pop("card_activity"), apple_passes, now=now, rng=rng, bar=bar))
            if checks_deferred:
                _check_references(raw)
    _vacuum_analyze()
    counts = {"merchants": merchants, "stores": sum(len(plan.store_ids) for plan in plans), **counts}
    return {**counts, "seconds": round(time.monotonic() - began, 1), "status": "generated"}


def _small_tables(merchants: int, rng: random.Random) -> list[MerchantPlan]:
    """Merchants, stores, programs and rewards through the ORM (a few hundred rows)."""
    from loyalty.models import LoyaltyType, Merchant, Program, Reward, Store

    made = Merchant.objects.bulk_create(
        Merchant(name=f"{BENCH_MERCHANT_PREFIX}{n:03d}", slug=f"bench-merchant-{n:03d}",
                 contact_email=f"owner@bench-merchant-{n:03d}.example")
        for n in range(merchants)
    )
    # The biggest merchant runs both stamps and points, so its statistics touch every kind of row.
    kinds = [LoyaltyType.HYBRID, LoyaltyType.STAMPS, LoyaltyType.POINTS, LoyaltyType.STAMPS]
    stores, programs = [], []
    for n, merchant in enumerate(made):
        for s in range(rng.randint(1, 3)):
            stores.append(Store(merchant=merchant, code=f"bench-{n:03d}-{s}", name=f"Shop {s + 1}",
                                timezone=rng.choice(TIME_ZONES)))
        kind = kinds[n % len(kinds)]
        programs.append(Program(
            merchant=merchant, name=f"Card of merchant {n:03d}", loyalty_type=kind,
            stamps_target=rng.choice((6, 8, 10, 10, 12)), stamps_reward_description="A free coffee",
            points_per_euro=rng.choice((1, 5, 10, 10)), cooldown_minutes=15, max_daily_stamps=5,
            require_staff_pin=False, points_expiration_days=None,
        ))
    Store.objects.bulk_create(stores)
    Program.objects.bulk_create(programs)
    rewards = []
    for program in programs:
        if program.has_points:
            rewards += [  # worth 30, 60 and 150 euros of purchases
                Reward(program=program, name=name, points_required=program.points_per_euro * euros, position=position)
                for position, (name, euros) in enumerate((("Coffee", 30), ("Cake", 60), ("Lunch", 150)))
            ]
    Reward.objects.bulk_create(rewards)
    stores_of, rewards_of = {}, {}
    for store in stores:
        stores_of.setdefault(store.merchant_id, []).append(store.pk)
    for reward in rewards:
        rewards_of.setdefault(reward.program_id, []).append((reward.pk, reward.points_required))
    return [
        MerchantPlan(
            merchant_id=program.merchant_id, program_id=program.pk, loyalty_type=program.loyalty_type,
            stamps_target=program.stamps_target, points_per_euro=program.points_per_euro,
            store_ids=stores_of[program.merchant_id],
            rewards=sorted(rewards_of.get(program.pk, []), key=itemgetter(1)),
        )
        for program in programs
    ]


def _defer_reference_checks(raw) -> bool:
    """Skip the per-row foreign-key triggers for this transaction when we may (a superuser); True if skipped.

    PostgreSQL checks each deferred foreign key row by row at commit: for the
    million ledger rows that is most of the generation time (28 of 74 s).
    :func:`_check_references` then checks every reference set-wise, which
    costs a few seconds. Unique and check constraints are enforced as usual.
    """
    raw.execute("SELECT rolsuper FROM pg_roles WHERE rolname = current_user")
    if not raw.fetchone()[0]:
        return False
    raw.execute("SET LOCAL session_replication_role = replica")
    return True


def _check_references(raw) -> None:
    """Every foreign key of the bulk-loaded tables points at a row: what the skipped triggers would have checked."""
    from loyalty.models import Customer, LoyaltyCard, LoyaltyTransaction
    from wallet.models import AppleDeviceRegistration, ApplePass

    dangling = []
    for model in (Customer, LoyaltyCard, LoyaltyTransaction, ApplePass, AppleDeviceRegistration):
        for model_field in model._meta.concrete_fields:
            if not model_field.is_relation:
                continue
            table, column = model._meta.db_table, model_field.column
            target = model_field.related_model._meta
            raw.execute(
                f"SELECT count(*) FROM {table} AS row WHERE row.{column} IS NOT NULL AND NOT EXISTS "
                f"(SELECT 1 FROM {target.db_table} AS target WHERE target.{target.pk.column} = row.{column})"
            )
            missing = raw.fetchone()[0]
            if missing:
                dangling.append(f"{table}.{column}: {missing:,} rows")
    if dangling:
        raise AssertionError("bench: the generated data set has dangling references: " + "; ".join(dangling))
    raw.execute("SET LOCAL session_replication_role = DEFAULT")


@contextmanager
def _indexes_built_after(raw, table: str):
    """Drop the table's plain indexes, and build them again when the block is done.

    Building a b-tree from sorted input takes seconds; keeping ten of them up
    to date through a million random inserts, with more index than shared
    buffers, takes a minute. Indexes behind a constraint (primary key, unique
    constraints) stay; the unique *indexes* are rebuilt, so still checked.
    """
    raw.execute(
        "SELECT index.relname, pg_get_indexdef(item.indexrelid) FROM pg_index AS item "
        "JOIN pg_class AS index ON index.oid = item.indexrelid WHERE item.indrelid = %s::regclass "
        "AND NOT EXISTS (SELECT 1 FROM pg_constraint WHERE conindid = item.indexrelid AND conrelid = item.indrelid)",
        [table],
    )
    definitions = raw.fetchall()
    for name, _definition in definitions:
        raw.execute(f'DROP INDEX "{name}"')
    yield
    for _name, definition in definitions:
        raw.execute(definition)


def _reserve_ids(raw, table: str, count: int) -> int:
    """The first of ``count`` consecutive ids taken from the table's identity sequence (nobody else writes now)."""
    raw.execute("SELECT pg_get_serial_sequence(%s, 'id')", [table])
    sequence = raw.fetchone()[0]
    raw.execute("SELECT nextval(%s)", [sequence])
    first = raw.fetchone()[0]
    raw.execute("SELECT setval(%s, %s)", [sequence, first + count - 1])
    return first


CUSTOMER_COLUMNS = (
    "id", "merchant_id", "email", "full_name", "phone", "preferred_language", "marketing_consent",
    "marketing_consent_at", "terms_accepted_at", "erased_at", "created_at", "updated_at",
)
CARD_COLUMNS = (
    "id", "merchant_id", "program_id", "customer_id", "enrolled_store_id", "card_number", "qr_code_data",
    "public_token", "stamp_count", "total_stamps_earned", "stamps_redeemed", "total_stamps_voided",
    "points_balance", "total_points_earned", "points_redeemed", "total_points_voided", "total_points_expired",
    "last_stamp_at", "last_points_at", "last_redemption_at", "last_activity_at", "is_active", "deactivated_at",
    "deactivation_reason", "wallet_needs_sync", "created_at", "updated_at",
)
TRANSACTION_COLUMNS = (
    "id", "card_id", "merchant_id", "store_id", "type", "stamps_delta", "points_delta", "stamp_balance_after",
    "points_balance_after", "purchase_amount_cents", "order_reference", "reward_id", "voided_transaction_id",
    "ip_address", "user_agent", "notes", "created_at",
)


def _iso(moment: datetime | None) -> str | None:
    """Times go into COPY as text: psycopg's own datetime dumper costs three times as much per row."""
    return None if moment is None else moment.isoformat()


def _copy_sql(table: str, columns: tuple[str, ...]) -> str:
    return f"COPY {table} ({', '.join(columns)}) FROM STDIN"


def _big_tables(raw, plans, *, cards, transactions, now, rng, bar) -> dict:
    """Customers, cards and the ledger by COPY, each in time order as production appends them.

    Physical order matters to the planner: a ledger written card after card
    would sit grouped by merchant, which no real ledger is. Returns the counts
    and each card's (id, last activity) for the wallet tables.
    """
    customer_first = _reserve_ids(raw, "loyalty_customer", cards)
    card_first = _reserve_ids(raw, "loyalty_loyaltycard", cards)
    ledger_first = _reserve_ids(raw, "loyalty_loyaltytransaction", transactions)

    # A platform that grows: more recent cards than old ones; none younger than a day. Ids follow time.
    owners = [plan for plan in plans for _ in range(plan.cards)]
    created = [now - DAY - (YEAR - DAY) * rng.random() ** 1.3 for _ in range(cards)]
    enrollments = sorted(zip(created, owners, strict=True), key=lambda pair: pair[0])
    # Who gets how many operations beyond the enrollment: older cards and regulars more.
    habit = [rng.expovariate(1.0) * ((now - when) / YEAR + 0.05) for when, _plan in enrollments]
    extra = split(transactions - cards, habit, rng)

    with _indexes_built_after(raw, "loyalty_customer"), \
            raw.copy(_copy_sql("loyalty_customer", CUSTOMER_COLUMNS)) as copy:
        for index, (when, plan) in enumerate(enrollments):
            first, last, stamp = rng.choice(FIRST_NAMES), rng.choice(LAST_NAMES), when.isoformat()
            consent = rng.random() < 0.3
            copy.write_row((
                customer_first + index, plan.merchant_id, f"{first}.{last}{index}@{rng.choice(DOMAINS)}",
                f"{first.title()} {last.title()}", "", rng.choice(LANGUAGES), consent, stamp if consent else None,
                stamp, None, stamp, stamp,
            ))
            bar.add()
    states = [CardState() for _ in range(cards)]
    ledger = []
    for index, (when, plan) in enumerate(enrollments):
        ledger += _card_ledger(
            plan, card_first + index, states[index], start=when, now=now, count=extra[index], rng=rng
        )
    ledger.sort(key=itemgetter(CREATED))  # every card's operations, interleaved by time
    with _indexes_built_after(raw, "loyalty_loyaltytransaction"), \
            raw.copy(_copy_sql("loyalty_loyaltytransaction", TRANSACTION_COLUMNS)) as copy:
        for number, row in enumerate(ledger):
            row[0] = ledger_first + number
        for row in ledger:
            voided = row[VOIDED]
            copy.write_row((
                *row[:VOIDED],
                None if voided is None else voided[0],  # the row it undoes, numbered above
                *row[VOIDED + 1:CREATED],
                row[CREATED].isoformat(),  # as text: psycopg's datetime dumper costs three times more
            ))
            bar.add()
    del ledger
    activity = []
    with _indexes_built_after(raw, "loyalty_loyaltycard"), \
            raw.copy(_copy_sql("loyalty_loyaltycard", CARD_COLUMNS)) as copy:
        for index, ((when, plan), state) in enumerate(zip(enrollments, states, strict=True)):
            card_id = card_first + index
            copy.write_row((
                card_id, plan.merchant_id, plan.program_id, customer_first + index, rng.choice(plan.store_ids),
                luhn_card_number(card_id), token(rng), token(rng),
                state.stamp_count, state.total_stamps_earned, state.stamps_redeemed, state.total_stamps_voided,
                state.points_balance, state.total_points_earned, state.points_redeemed, state.total_points_voided, 0,
                _iso(state.last_stamp_at), _iso(state.last_points_at), _iso(state.last_redemption_at),
                _iso(state.last_activity_at),
                True, None, "", False,
                when.isoformat(), _iso(state.last_activity_at or when),
            ))
            activity.append((card_id, state.last_activity_at or when))
            bar.add()
    return {"customers": cards, "cards": cards, "transactions": transactions, "card_activity": activity}


VOIDED = TRANSACTION_COLUMNS.index("voided_transaction_id")
CREATED = TRANSACTION_COLUMNS.index("created_at")


def _card_ledger(plan: MerchantPlan, card_id: int, state: CardState, *, start, now, count, rng) -> list[list]:
    """The card's ledger rows: its enrollment, then ``count`` operations applied to ``state`` as the services would.

    A row is a list whose id the writer fills in once all cards' rows are in
    time order; until then a void holds the row it undoes.
    """
    span = (now - start).total_seconds()
    moments = sorted(start + timedelta(seconds=60 + rng.random() * max(span - 120, 1)) for _ in range(count))
    ip, agent = rng.choice(IP_ADDRESSES), rng.choice(USER_AGENTS)
    store = rng.choice(plan.store_ids)
    rows = [[None, card_id, plan.merchant_id, store, "CARD_ENROLLED", 0, 0, 0, 0, None, None, None, None,
             None, "", "", start]]
    stamps = plan.loyalty_type in ("stamps", "hybrid")
    points = plan.loyalty_type in ("points", "hybrid")
    for moment in moments:
        if rng.random() < 0.2:  # most customers stick to one shop
            store = rng.choice(plan.store_ids)
        use_stamps = stamps and (not points or rng.random() < 0.5)
        row = [None, card_id, plan.merchant_id, store, None, 0, 0, 0, 0, None, None, None, None, ip, agent, "", moment]
        operation = _stamp_operation if use_stamps else _points_operation
        operation(plan, state, row, moment, rng)
        row[7], row[8] = state.stamp_count, state.points_balance
        state.last_activity_at = moment
        rows.append(row)
    return rows


def _stamp_operation(plan, state: CardState, row: list, moment, rng) -> None:
    """A stamp, or (when the card is full) mostly a redemption, or rarely a void of the last stamp."""
    if state.stamp_count >= plan.stamps_target and rng.random() < 0.8:
        state.stamp_count -= plan.stamps_target
        state.stamps_redeemed += 1
        state.last_redemption_at = moment
        state.open_stamp = None
        row[4], row[5] = "STAMP_REDEEMED", -plan.stamps_target
    elif state.open_stamp is not None and state.stamp_count > 0 and rng.random() < 0.03:
        row[4], row[5], row[VOIDED] = "STAMP_VOIDED", -1, state.open_stamp
        state.open_stamp = None
        state.stamp_count -= 1
        state.total_stamps_voided += 1
    else:
        state.stamp_count += 1
        state.total_stamps_earned += 1
        state.last_stamp_at = moment
        state.open_stamp = row
        row[4], row[5] = "STAMP_EARNED", 1


def _points_operation(plan, state: CardState, row: list, moment, rng) -> None:
    """Points for a purchase, or a reward the balance covers, or rarely the return of the last purchase."""
    affordable = [reward for reward in plan.rewards if reward[1] <= state.points_balance]
    if affordable and rng.random() < 0.3:
        reward_id, cost = affordable[-1] if rng.random() < 0.5 else affordable[0]
        state.points_balance -= cost
        state.points_redeemed += cost
        state.last_redemption_at = moment
        row[4], row[6], row[11] = "POINTS_REDEEMED", -cost, reward_id
    elif state.open_earning is not None and state.points_balance > 0 and rng.random() < 0.03:
        original = state.open_earning
        state.open_earning = None
        taken = min(original[6], state.points_balance)
        state.points_balance -= taken
        state.total_points_voided += taken
        row[4], row[6], row[10], row[VOIDED] = "POINTS_VOIDED", -taken, original[10], original
    else:
        cents = int(rng.lognormvariate(6.7, 0.7)) + 50  # a few euros, sometimes a lot more
        earned = cents * plan.points_per_euro // 100
        state.points_balance += earned
        state.total_points_earned += earned
        state.last_points_at = moment
        state.open_earning = row
        state.receipts += 1
        reference = f"POS-{row[1]}-{state.receipts}" if rng.random() < 0.6 else None  # card ids make it unique
        row[4], row[6], row[9], row[10] = "POINTS_EARNED", earned, cents, reference


def _wallet_tables(raw, activity, apple_passes: int, *, now, rng, bar) -> dict:
    """Apple passes for a share of the cards, and the devices that registered them."""
    chosen = sorted(rng.sample(activity, apple_passes), key=lambda item: item[1])  # by last change
    pass_first = _reserve_ids(raw, "wallet_applepass", apple_passes)
    passes = []  # (pass id, change tag)
    tag = 0
    with raw.copy("COPY wallet_applepass (id, card_id, serial_number, authentication_token, change_tag, "
                  "changed_at, created_at) FROM STDIN") as copy:
        for offset, (card_id, changed) in enumerate(chosen):
            tag = max(int(changed.timestamp() * 1_000_000), tag + 1)  # strictly increasing, as the service hands out
            pass_id = pass_first + offset
            copy.write_row((pass_id, card_id, f"{rng.getrandbits(128):032x}", token(rng), tag, changed, changed))
            passes.append((pass_id, tag))
            bar.add()
    registrations = _device_registrations(passes, now=now, rng=rng)
    with raw.copy("COPY wallet_appledeviceregistration (device_library_identifier, push_token, apple_pass_id, "
                  "created_at, updated_at, unregistered_at) FROM STDIN") as copy:
        for row in registrations:
            copy.write_row(row)
    return {"apple_passes": apple_passes, "device_registrations": len(registrations)}


def _device_registrations(passes, *, now, rng) -> list[tuple]:
    """Devices of a quarter of the passes (1–3 passes each), 5 % of them told "unregistered" by APNs.

    ``BENCH_DEVICE`` holds ``BENCH_DEVICE_PASSES`` passes spread over the year,
    so "serials updated since" has older and newer tags to tell apart.
    """
    rows = []
    step = max(1, len(passes) // BENCH_DEVICE_PASSES)
    for pass_id, _tag in passes[::step][:BENCH_DEVICE_PASSES]:
        rows.append((BENCH_DEVICE, f"{rng.getrandbits(256):064x}", pass_id, now - YEAR / 2, now - YEAR / 2, None))
    shuffled = rng.sample(passes, int(len(passes) * REGISTERED_SHARE))
    position = 0
    device = 0
    while position < len(shuffled):
        owned = shuffled[position:position + rng.choice((1, 1, 1, 2, 3))]
        position += len(owned)
        device += 1
        identifier = f"{rng.getrandbits(128):032x}"
        for pass_id, _tag in owned:
            registered = now - YEAR * rng.random()
            gone = registered + (now - registered) * rng.random() if rng.random() < 0.05 else None
            rows.append((identifier, f"{rng.getrandbits(256):064x}", pass_id, registered, registered, gone))
    return rows


def _vacuum_analyze() -> None:
    """Statistics for the planner, and the state autovacuum keeps a live table in (hint bits, visibility map)."""
    from django.db import connection

    with connection.cursor() as cursor:
        for table in ("loyalty_customer", "loyalty_loyaltycard", "loyalty_loyaltytransaction",
                      "wallet_applepass", "wallet_appledeviceregistration", "loyalty_merchant", "loyalty_store"):
            cursor.execute(f"VACUUM (ANALYZE) {table}")


def main(argv=None) -> int:
    args = database_from_argv(argv, description="Generate the bench data set (section 5) in the bench database.")
    configure(args.database)
    result = generate(progress=True, **(QUICK_SIZE if args.quick else {}))
    for key, value in result.items():
        print(f"{key}: {value:,}" if isinstance(value, int) else f"{key}: {value}")
    return 0


if __name__ == "__main__":
    sys.exit(main())
