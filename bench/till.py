"""Sections 1–3 of the bench: till throughput, PIN cost, one hot card — over HTTP.

The data is made through the domain services (enrollment, PINs, tokens), as
the scanner app's would be. Each scenario runs the load generator
(bench/load.py) in its own process against the gunicorn server.
"""

import functools
import json
import statistics
import subprocess
import sys
import time
from collections import Counter
from dataclasses import dataclass

import bcrypt
from django.conf import settings
from django.contrib.auth import get_user_model
from django.db import transaction

from bench.load import summary
from bench.report import Figure
from loyalty.domain.actors import Actor, Channel
from loyalty.models import LoyaltyCard, LoyaltyTransaction, Merchant, Program, Store, TransactionType
from loyalty.services.enrollment import customer_enroll
from staff.models import Membership
from staff.services.pins import pin_create
from staff.services.tokens import token_issue

STAMP = "/api/v1/store/loyalty/stamp"
EARN = "/api/v1/store/loyalty/points/earn"
PASSWORD = "bench-password-2026"


@dataclass
class Till:
    """One merchant's store, its cards and a staff token, ready for the load generator."""

    store: Store
    program: Program
    token: str
    card_ids: list[int]
    pins: list[str]

    @property
    def headers(self) -> dict:
        return {"Authorization": f"Token {self.token}"}


def till_create(name: str, *, cards: int, pins: int = 0, max_daily_stamps: int = 32_767) -> Till:
    """A merchant with a hybrid program (cooldown 0), ``cards`` cards and ``pins`` staff PINs."""
    slug = name.lower().replace(" ", "-")
    with transaction.atomic():
        merchant = Merchant.objects.create(name=name, slug=slug)
        store = Store.objects.create(merchant=merchant, code=slug, name=f"{name} store", timezone="Europe/Luxembourg")
        program = Program.objects.create(
            merchant=merchant, name="Coffee card", loyalty_type="hybrid", stamps_target=10,
            stamps_reward_description="Free coffee", points_per_euro=10, cooldown_minutes=0,
            max_daily_stamps=max_daily_stamps, require_staff_pin=pins > 0,
        )
        user = get_user_model().objects.create_user(username=f"{slug}-staff", password=PASSWORD)
        Membership.objects.create(user=user, merchant=merchant, role="staff").stores.set([store])
        system = Actor(merchant=merchant, store=store, channel=Channel.SYSTEM)
        card_ids = [
            customer_enroll(actor=system, email=f"customer{n}@{slug}.example", full_name=f"Customer {n}").card.pk
            for n in range(cards)
        ]
        owner = Actor(merchant=merchant, store=store, role="owner", channel=Channel.TILL)
        pin_values = [str(40_000_000 + n * 7919) for n in range(pins)]
        for n, value in enumerate(pin_values):
            pin_create(actor=owner, store=store, name=f"Staff {n}", pin=value)
    token = token_issue(username=user.username, password=PASSWORD, store_code=store.code).key
    return Till(store=store, program=program, token=token, card_ids=card_ids, pins=pin_values)


def load(url: str, clients: list[dict], *, duration: float, warmup: float = 2.0, latencies: bool = False) -> dict:
    plan = {"url": url, "duration": duration, "warmup": warmup, "clients": clients, "latencies": latencies}
    finished = subprocess.run(
        [sys.executable, "-m", "bench.load"], input=json.dumps(plan), capture_output=True, text=True, check=True,
        timeout=duration + warmup + 120,  # bounded even if the server hangs
    )
    return json.loads(finished.stdout)


def till_clients(till: Till, path: str, *, count: int, body: dict | None = None, unique: str = "", **spec) -> list[dict]:
    """``count`` clients, each cycling over its own share of the till's cards."""
    clients = []
    for n in range(count):
        cards = till.card_ids[n::count]
        bodies = [{"card_id": card_id, **(body or {})} for card_id in cards]
        clients.append({"method": "POST", "path": path, "headers": till.headers, "bodies": bodies, "unique": unique, **spec})
    return clients


def _latency(result: dict) -> str:
    return f"p50 {result['p50_ms']:.1f} ms, p99 {result['p99_ms']:.1f} ms"


def _unexpected(result: dict, allowed: tuple[str, ...] = ()) -> dict:
    codes = {code: n for code, n in result["error_codes"].items() if code not in allowed}
    return {**codes, **result["transport_errors"]}


def measured(server, clients: list[dict], **timing) -> dict:
    """``load`` (with its latencies) plus the workers' CPU time over it, in ms (``server_cpu_ms``): per
    answered request, unlike throughput, it holds when the load generator (or anything else) competes
    for the cores."""
    before = server.workers_cpu_seconds()
    result = load(server.url, clients, latencies=True, **timing)
    result["server_cpu_ms"] = (server.workers_cpu_seconds() - before) * 1000
    return result


def _cpu(result: dict) -> str:
    return f"server CPU {result['server_cpu_ms_per_request']:.2f} ms/request"


def throughput(server, till: Till, *, clients: int, duration: float, warmup: float) -> list[Figure]:
    """Section 1: stamps/s and earns/s beside their hand-written SQL floor, token auth beside the bare constant.

    8 clients, no PIN. Each pair is judged twice: by throughput (requests/s, as the issue states it) and by
    the server's CPU per request (floor's over the feature's), which the load generator's share of the
    cores does not skew. The six phases take turns (``interleaved``), so a pair shares every minute.
    """
    timing = {"duration": duration, "warmup": warmup}
    earn_body = {"purchase_amount_cents": 1250}
    phases = {
        "bare": [{"method": "GET", "path": "/bench/constant"}] * clients,
        "authenticated": till_clients(till, "/bench/constant-authenticated", count=clients),
        "stamp floor": till_clients(till, "/bench/floor/stamp", count=clients),
        "stamp": till_clients(till, STAMP, count=clients),
        "earn floor": till_clients(till, "/bench/floor/earn", count=clients, body=earn_body, unique="order_reference"),
        "earn": till_clients(till, EARN, count=clients, body=earn_body, unique="order_reference"),
    }
    results = interleaved(functools.partial(measured, server), phases, **timing)
    section = "Till throughput"
    figures = []
    pairs = (
        (f"stamps/s, {clients} clients, no PIN", "stamp", "stamp floor", "stamp floor (hand-written SQL)"),
        (f"points earn/s, {clients} clients, no PIN", "earn", "earn floor", "earn floor (hand-written SQL)"),
        ("constant endpoint with the till's token auth", "authenticated", "bare", "bare constant DRF endpoint"),
    )
    for label, name, floor_name, floor_label in pairs:
        result, floor = results[name], results[floor_name]
        problems = {**_unexpected(result), **_unexpected(floor)}
        errors = f"; errors {problems}" if problems else ""
        figures.append(Figure.against(
            section, label, result["per_second"], "/s", floor["per_second"], floor_label, 0.5,
            f"{_latency(result)}; {_cpu(result)}{errors}", result=result, limit_result=floor,
        ))
        figures[-1].passed = figures[-1].passed and not problems
        figures.append(Figure.cost_against(
            section, f"server CPU per request: {name} vs {floor_name}", result["server_cpu_ms_per_request"], "ms",
            floor["server_cpu_ms_per_request"], f"{floor_name}, server CPU", 0.5,
            f"gunicorn workers' utime+stime / {result['answered']:,} requests ({floor['answered']:,} for the limit)",
        ))
    for name in ("bare", "stamp floor", "earn floor"):
        result = results[name]
        figures.append(Figure(section, f"{name} endpoint", result["per_second"], "/s",
                              detail=f"{_latency(result)}; {_cpu(result)}"))
    return figures


def bcrypt_check_timings(*, repeat: int) -> list[float]:
    """``repeat`` bare ``bcrypt.checkpw`` at the configured cost, each in ms."""
    hashed = bcrypt.hashpw(b"40000000", bcrypt.gensalt(rounds=settings.LOYALTY_PIN_BCRYPT_ROUNDS))
    timings = []
    for _ in range(repeat):
        began = time.perf_counter()
        bcrypt.checkpw(b"40000000", hashed)
        timings.append((time.perf_counter() - began) * 1000)
    return timings


ROUNDS = 4  # phases compared with each other are measured in this many slices, taking turns
SLICE_WARMUP = 0.3  # seconds not counted at the start of a later slice (a fresh load process)


def interleaved(run, phases: dict[str, list[dict]], *, duration: float, warmup: float, between=None) -> dict[str, dict]:
    """Each phase run for ``duration`` in ROUNDS slices, the phases taking turns, and its slices merged.

    On a shared host the pace swings by a third from one minute to the next: phases run one after the
    other could compare a fast minute with a slow one. Taking turns, they share every minute.
    ``run(clients, duration=, warmup=)`` measures one slice (``load`` or ``measured``); ``between()``,
    if given, runs before each round and after the last. Returns, per phase, what ``run`` returns, the
    latencies' percentiles and the server's CPU per request taken over the merged slices.
    """
    merged = {name: [] for name in phases}
    for round_number in range(ROUNDS):
        if between:
            between()
        for name, clients in phases.items():
            merged[name].append(run(
                clients, duration=duration / ROUNDS, warmup=warmup if round_number == 0 else SLICE_WARMUP
            ))
    if between:
        between()
    return {name: _merge(slices) for name, slices in merged.items()}


def _merge(slices: list[dict]) -> dict:
    def added(key: str) -> Counter:
        return sum((Counter(result[key]) for result in slices), Counter())

    answered = sum(result["answered"] for result in slices)
    cpu_ms = sum(result.get("server_cpu_ms", 0.0) for result in slices)
    merged = summary(
        [value for result in slices for value in result.pop("latencies_ms")],
        answered=answered,
        window=sum(result["window_seconds"] for result in slices),
        statuses=added("statuses"),
        error_codes=added("error_codes"),
        transport_errors=added("transport_errors"),
        samples=slices[0]["samples"],
    )
    return {
        **merged,
        "server_cpu_ms": cpu_ms,
        "server_cpu_ms_per_request": cpu_ms / answered if answered else 0.0,
        "slices": len(slices),
    }


def pin_cost(url: str, one: Till, fifty: Till, plain: Till, *, duration: float, warmup: float) -> list[Figure]:
    """Section 2: one client, PIN required, 1 PIN vs 50 PINs (the last one created), vs one bcrypt check.

    The same stamp without a PIN (``plain``'s program requires none), also by one client, shows
    what the PIN itself adds: that difference is what "one bcrypt check" should account for.
    The three phases take turns in slices, with the bcrypt check timed between the rounds
    (``interleaved``), so figures and limit share the machine's pace of every minute.
    """
    phases = {
        label: till_clients(till, STAMP, count=1, body={"staff_pin": till.pins[-1]})
        for label, till in (("1 PIN", one), ("50 PINs", fifty))
    }
    checks = []
    results = interleaved(
        functools.partial(load, url, latencies=True),
        {**phases, "no PIN": till_clients(plain, STAMP, count=1)},
        duration=duration, warmup=warmup, between=lambda: checks.extend(bcrypt_check_timings(repeat=5)),
    )
    without, check_ms = results.pop("no PIN"), statistics.median(checks)
    section = "PIN cost"
    figures = []
    for label, result in results.items():
        problems = _unexpected(result)
        figures.append(Figure(
            section, f"stamp with PIN, {label}, p50", result["p50_ms"], "ms", check_ms + 15,
            f"one bcrypt check ({check_ms:.1f} ms, cost {settings.LOYALTY_PIN_BCRYPT_ROUNDS}) + 15 ms",
            result["p50_ms"] / (check_ms + 15), "≤ 1.0", result["p50_ms"] <= check_ms + 15 and not problems,
            f"p99 {result['p99_ms']:.1f} ms, {result['ok']} stamps" + (f"; errors {problems}" if problems else ""),
            {"result": result},
        ))
    one_ms, fifty_ms = results["1 PIN"]["p50_ms"], results["50 PINs"]["p50_ms"]
    figures.append(Figure(
        section, "the same stamp without a PIN, 1 client, p50", without["p50_ms"], "ms", detail=_latency(without)
    ))
    pin_ms = one_ms - without["p50_ms"]
    figures.append(Figure(
        section, "what the PIN adds (1 PIN − no PIN, p50)", pin_ms, "ms", check_ms, "one bcrypt check", pin_ms / check_ms,
        detail="the PIN's row is found by an HMAC index, then one bcrypt check",
    ))
    figures.append(Figure(
        section, "50 PINs vs 1 PIN, p50", fifty_ms, "ms", one_ms, "1 PIN, same run", fifty_ms / one_ms,
        "≤ 1.1", fifty_ms <= 1.1 * one_ms,
    ))
    return figures


def hot_card(url: str, till: Till, *, clients: int, per_client: int, daily_limit: int) -> list[Figure]:
    """Section 3: every client stamps the same card; the daily limit is the business rule that must hold."""
    card_id = till.card_ids[0]
    Program.objects.filter(pk=till.program.pk).update(max_daily_stamps=daily_limit)
    before = LoyaltyCard.objects.get(pk=card_id).stamp_count
    spec = {"method": "POST", "path": STAMP, "headers": till.headers, "bodies": [{"card_id": card_id}],
            "max_requests": per_client}
    result = load(url, [spec] * clients, duration=120, warmup=0)
    card = LoyaltyCard.objects.get(pk=card_id)
    rows = LoyaltyTransaction.objects.filter(card_id=card_id, type=TransactionType.STAMP_EARNED).count()
    attempts = clients * per_client
    expected = min(attempts, daily_limit)
    problems = _unexpected(result, allowed=("DAILY_STAMP_LIMIT",))
    correct = result["ok"] == expected and card.stamp_count - before == expected and rows == expected
    detail = (
        f"{attempts} attempts: {result['ok']} stamped, {result['error_codes'].get('DAILY_STAMP_LIMIT', 0)} "
        f"DAILY_STAMP_LIMIT; card +{card.stamp_count - before}, ledger rows {rows}; "
        f"unexpected errors {problems or 'none'}; {_latency(result)}"
    )
    return [Figure(
        "Hot card", f"{clients} clients on one card, daily limit {daily_limit}", result["ok"], "stamps",
        expected, "the daily limit", result["ok"] / expected, "= 1.0, no other error", correct and not problems,
        detail, {"result": result},
    )]
