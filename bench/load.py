"""The load generator: a separate process that drives the server over HTTP.

Run as ``python -m bench.load`` with a JSON plan on stdin; prints one JSON
result on stdout. Each client is a thread sending one request after another
(a new TCP connection each time, as gunicorn's sync workers close every
connection); requests in the warm-up are not counted. The plan::

    {"url": "http://127.0.0.1:8765", "duration": 10, "warmup": 2,
     "clients": [{"method": "POST", "path": "/api/...", "headers": {...},
                  "bodies": [{...}, ...],          # cycled, one per request
                  "unique": "order_reference",     # optional: a fresh value per request
                  "max_requests": 0}],             # optional: stop after n (0 = until duration)
     "latencies": false}                           # optional: also return every counted latency

Result: counts by HTTP status and by error code, latency percentiles of the
counted requests (and, if asked, the latencies themselves: ``latencies_ms``),
throughput (2xx per second of the measured window), and ``answered``: every
request the server answered, warm-up included (what the server's CPU time
over the whole run is divided by).
"""

import http.client
import json
import sys
import threading
import time
from collections import Counter
from urllib.parse import urlsplit


def percentile(values: list[float], fraction: float) -> float:
    if not values:
        return 0.0
    ordered = sorted(values)
    index = min(len(ordered) - 1, max(0, round(fraction * (len(ordered) - 1))))
    return ordered[index]


class Client(threading.Thread):
    def __init__(self, number: int, plan: dict, spec: dict, start_at: float, measure_from: float, stop_at: float):
        super().__init__(daemon=True)
        self.number, self.spec = number, spec
        parts = urlsplit(plan["url"])
        self.host, self.port = parts.hostname, parts.port
        self.start_at, self.measure_from, self.stop_at = start_at, measure_from, stop_at
        self.latencies: list[float] = []
        self.statuses: Counter = Counter()
        self.error_codes: Counter = Counter()
        self.transport_errors: Counter = Counter()
        self.samples: list[dict] = []
        self.answered = 0

    def request(self, sequence: int) -> tuple[int, bytes]:
        spec = self.spec
        body = None
        if spec.get("bodies"):
            payload = dict(spec["bodies"][sequence % len(spec["bodies"])])
            if spec.get("unique"):
                payload[spec["unique"]] = f"bench-{self.number}-{sequence}-{time.monotonic_ns()}"
            body = json.dumps(payload).encode()
        headers = {"Content-Type": "application/json", **spec.get("headers", {})}
        connection = http.client.HTTPConnection(self.host, self.port, timeout=30)
        try:
            connection.request(spec.get("method", "GET"), spec["path"], body=body, headers=headers)
            response = connection.getresponse()
            return response.status, response.read()
        finally:
            connection.close()

    def run(self):
        while time.perf_counter() < self.start_at:
            time.sleep(0.001)
        sequence = 0
        limit = self.spec.get("max_requests") or 0
        while time.perf_counter() < self.stop_at and (not limit or sequence < limit):
            began = time.perf_counter()
            try:
                status, data = self.request(sequence)
            except (OSError, http.client.HTTPException) as error:
                self.transport_errors[error.__class__.__name__] += 1
                sequence += 1
                continue
            elapsed = time.perf_counter() - began
            sequence += 1
            self.answered += 1
            if began < self.measure_from and not limit:
                continue
            self.latencies.append(elapsed * 1000)
            self.statuses[status] += 1
            if status >= 400:
                try:
                    self.error_codes[json.loads(data)["error"]["code"]] += 1
                except (ValueError, KeyError, TypeError):
                    self.error_codes[f"HTTP {status} (not the API error shape)"] += 1
            elif len(self.samples) < 2:
                self.samples.append(json.loads(data) if data else {})


def summary(latencies, *, answered, window, statuses, error_codes, transport_errors, samples) -> dict:
    """The result of a load, or of slices of loads merged (``bench.till.interleaved``): counts by status (its
    keys ints or their text) and error code, 2xx per second of ``window``, percentiles of ``latencies``."""
    ok = sum(count for status, count in statuses.items() if 200 <= int(status) < 300)
    return {
        "requests": len(latencies),
        "answered": answered,
        "ok": ok,
        "per_second": ok / window if window else 0.0,
        "window_seconds": window,
        "p50_ms": percentile(latencies, 0.50),
        "p99_ms": percentile(latencies, 0.99),
        "statuses": {str(status): count for status, count in sorted(statuses.items(), key=lambda item: int(item[0]))},
        "error_codes": dict(error_codes),
        "transport_errors": dict(transport_errors),
        "samples": samples,
    }


def run(plan: dict) -> dict:
    now = time.perf_counter()
    start_at = now + 0.2
    measure_from = start_at + plan.get("warmup", 2)
    stop_at = measure_from + plan["duration"]
    clients = [Client(n, plan, spec, start_at, measure_from, stop_at) for n, spec in enumerate(plan["clients"])]
    for client in clients:
        client.start()
    for client in clients:
        client.join()
    finished = time.perf_counter()
    latencies = [value for client in clients for value in client.latencies]
    limited = any(spec.get("max_requests") for spec in plan["clients"])
    result = summary(
        latencies,
        answered=sum(client.answered for client in clients),
        window=(finished - start_at) if limited else plan["duration"],
        statuses=sum((client.statuses for client in clients), Counter()),
        error_codes=sum((client.error_codes for client in clients), Counter()),
        transport_errors=sum((client.transport_errors for client in clients), Counter()),
        samples=[sample for client in clients for sample in client.samples][:2],
    )
    if plan.get("latencies"):
        result["latencies_ms"] = latencies
    return result


if __name__ == "__main__":
    json.dump(run(json.load(sys.stdin)), sys.stdout)
