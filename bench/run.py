"""`make bench`: every figure of issue #10 beside its limit, measured in one run.

1. till throughput (gunicorn, 2 workers; load generator in another process);
2. PIN cost (1 vs 50 PINs vs one bcrypt check); 3. one hot card;
4. pass generation vs a bare signature, a device's pass fetch, and the peers (the same pass
   by django-walletpass and passkit-generator); 5. reads on a million-row data set,
   and the fraud-alert detector on it (bench/alerts.py);
6. memory (gunicorn worker, CSV export of the million rows); 7. a campaign to 100,000 cards.

Writes bench/results/latest.json and prints a Markdown table. Exit status 1
when a target is missed. Runs in its own PostgreSQL database (dropped and
made again unless ``--reuse``), never in the development or test database.
"""

import argparse
import os
import sys
import time
from pathlib import Path

from bench import environment

RESULTS = Path(os.environ.get("BENCH_RESULTS_DIR") or Path(__file__).resolve().parent / "results")


def parse_args(argv):
    parser = argparse.ArgumentParser(prog="make bench", description=__doc__.split("\n\n")[0])
    parser.add_argument("--database", default=os.environ.get("BENCH_DATABASE_URL", environment.DEFAULT_DATABASE_URL))
    parser.add_argument("--port", type=int, default=int(os.environ.get("BENCH_PORT", "8765")))
    parser.add_argument("--duration", type=float, default=8.0, help="seconds measured per load phase (default 8)")
    parser.add_argument("--clients", type=int, default=8)
    parser.add_argument("--quick", action="store_true", help="a smoke run: short phases, a data set of 1/10 size")
    parser.add_argument("--skip-scale", action="store_true", help="leave out sections 5 and the export (no data set)")
    parser.add_argument("--reuse", action="store_true", help="keep the bench database and its data set")
    parser.add_argument(
        "--only", choices=["till", "pin", "passes"],
        help="run only this section (while working on it): till throughput, PIN cost, or passes and peers",
    )
    return parser.parse_args(argv)


def main(argv=None) -> int:
    args = parse_args(argv)
    if args.quick:
        args.duration = min(args.duration, 3.0)
    began = time.monotonic()
    configured = environment.configure(args.database)
    if not args.reuse:
        environment.recreate_database(args.database)
    import django

    django.setup()
    from django.conf import settings
    from django.core.management import call_command

    from bench import passes, peers, till
    from bench.report import Figure, markdown, write
    from bench.server import Gunicorn

    call_command("migrate", verbosity=0)
    print("bench: preparing the tills", file=sys.stderr)
    suffix = str(int(time.time()))  # --reuse keeps earlier tills; names stay unique
    main_till = till.till_create(f"Bench Till {suffix}", cards=args.clients * 25)
    pin_one = till.till_create(f"Bench One PIN {suffix}", cards=4, pins=1)
    pin_fifty = till.till_create(f"Bench Fifty PINs {suffix}", cards=4, pins=50)
    hot = till.till_create(f"Bench Hot Card {suffix}", cards=1)

    figures: list[Figure] = []
    with Gunicorn(port=args.port, log_path=RESULTS / "gunicorn.log") as server:
        print(f"bench: till load, {args.duration:.0f} s per phase", file=sys.stderr)
        timing = {"duration": args.duration, "warmup": 0.5 if args.quick else 2.0}
        if args.only in (None, "till"):
            figures += till.throughput(server, main_till, clients=args.clients, **timing)
        worker_peak = server.peak_rss_mb()
        if args.only in (None, "pin"):
            figures += till.pin_cost(server.url, pin_one, pin_fifty, main_till, **timing)
        if args.only is None:
            figures += till.hot_card(server.url, hot, clients=args.clients, per_client=40, daily_limit=150)
    figures.append(Figure(
        "Memory", "gunicorn worker peak RSS during the till load", worker_peak, "MB",
        detail=f"VmHWM of the busiest of {server.workers} workers",
    ))
    if args.only in (None, "passes"):
        print("bench: pass generation", file=sys.stderr)
        from loyalty.models import LoyaltyCard

        pass_card = LoyaltyCard.objects.get(pk=main_till.card_ids[0])
        figures += passes.pass_generation(pass_card, seconds=min(args.duration, 5.0))
        figures.append(passes.pass_fetch(pass_card))
        print("bench: peers (the same pass by other libraries)", file=sys.stderr)
        figures += peers.run(pass_card, count=10 if args.quick else 30, install=not args.quick)

    if not args.skip_scale and args.only is None:
        from bench import alerts, campaigns, dataset, export_memory, reads

        size = dataset.QUICK_SIZE if args.quick else {}
        generated = dataset.generate(progress=True, **size)
        figures.append(Figure(
            "Scale of reads", "data set generation", generated.get("seconds", 0.0), "s",
            detail=", ".join(f"{key} {value:,}" for key, value in generated.items()
                             if key != "seconds" and isinstance(value, int)),
        ))
        figures += reads.run()
        figures += alerts.run()
        figures += export_memory.run()
        print("bench: a campaign to 100,000 cards", file=sys.stderr)
        figures += campaigns.run()

    table = markdown(figures)
    print(table)
    run_settings = {
        "bcrypt_rounds": settings.LOYALTY_PIN_BCRYPT_ROUNDS,
        "clients": args.clients,
        "phase_seconds": args.duration,
        "gunicorn_workers": 2,
        "cache": configured.get("CACHE_URL", "local memory"),
        "quick": args.quick,
        "total_seconds": round(time.monotonic() - began, 1),
    }
    write(figures, RESULTS / "latest.json", run_settings)
    (RESULTS / "latest.md").write_text(table + "\n")
    missed = [figure for figure in figures if figure.passed is False]
    print(f"\nbench: {len(figures)} figures, {len(missed)} target(s) missed, "
          f"{run_settings['total_seconds']:.0f} s; written to {RESULTS / 'latest.json'}", file=sys.stderr)
    return 1 if missed else 0


if __name__ == "__main__":
    sys.exit(main())
