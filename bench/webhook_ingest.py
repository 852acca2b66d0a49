"""Webhook ingest under gunicorn: signed order webhooks vs a bare 200 endpoint on the same server.

Prints and returns requests/s and p50/p99 latency for both (alternating rounds), their ratio, the
server CPU time per request of each (gunicorn workers, Redis and the relay: steadier than rates when
other work shares the machine) and the p99 of webhooks paced at 200 requests/s (target: under 50
ms). The workers' relay (`plugin.adapters.queue.relay.run_relay`) runs throughout in a process of
its own, as in a worker, so every accepted webhook must end as one queued job. Loopback only; about
40 s. Fails unless every answer had its expected status.
"""

from __future__ import annotations

import http.client
import json
import os
import statistics
import sys
import tempfile
import threading
import time
from collections.abc import Callable, Iterator
from contextlib import contextmanager
from pathlib import Path
from typing import Any

import psutil

from tests.processes import free_port, running

ROOT = Path(__file__).resolve().parent.parent
SECRET_KEY = "bench-secret-key-0123456789abcdef"
WEBHOOK_SECRET = "bench-webhook-secret"
GUNICORN_WORKERS = 2
GUNICORN_THREADS = 4
CLIENTS = 8
ROUNDS = 3
ROUND_SECONDS = 2.0
PACED_RATE = 200
PACED_SECONDS = 5.0
WARM_SECONDS = 1.0
# `python -m bench --quick`: does it still run (rounds, seconds a round, paced, warm-up).
QUICK = (1, 0.5, 1.0, 0.2)


def bare() -> Any:
    """`POST /bench/bare`: answers 200 and does nothing else (the baseline)."""
    from flask import Response

    return Response("ok")


def bench_app() -> Any:
    """The real app plus `/bench/bare`. The route exists only in this benchmark's app, never in
    `create_app()`; it is exempt from the merchant pages' CSRF check like the webhooks are, so
    both paths pay the same framework cost and the bare one really answers 200."""
    from app import create_app

    app = create_app()
    app.add_url_rule("/bench/bare", "bench_bare", bare, methods=["POST"])
    app.extensions["csrf"].exempt(bare)
    return app


@contextmanager
def _server(home: Path, redis_url: str) -> Iterator[tuple[int, int]]:
    """gunicorn serving `bench_app()`; yields its port and the master's pid."""
    port = free_port()
    env = dict(
        os.environ,
        BACKORDERS_HOME=str(home),
        SECRET_KEY=SECRET_KEY,
        REDIS_URL=redis_url,
        LOG_LEVEL="WARNING",
        PYTHONPATH=str(ROOT),
    )
    command = [
        sys.executable,
        "-m",
        "gunicorn",
        "--preload",
        "-w",
        str(GUNICORN_WORKERS),
        "-k",
        "gthread",
        "--threads",
        str(GUNICORN_THREADS),
        "-b",
        f"127.0.0.1:{port}",
        "--log-level",
        "warning",
        "bench.webhook_ingest:bench_app()",
    ]
    with running(command, ready=_healthy(port), name="gunicorn", env=env, quiet=False) as process:
        yield port, process.pid


def _healthy(port: int) -> Callable[[], bool]:
    """Whether the server on `port` answers 200 on /healthz."""

    def ready() -> bool:
        try:
            connection = http.client.HTTPConnection("127.0.0.1", port, timeout=2)
            try:
                connection.request("GET", "/healthz")
                return connection.getresponse().status == 200
            finally:
                connection.close()
        except OSError:
            return False

    return ready


# The relay loop a worker's main process runs, alone: no RQ worker takes the jobs, so the queue
# at the end shows what the webhooks and the relay produced.
RELAY_SCRIPT = """
import sys, threading
import redis
from plugin.adapters.queue.relay import run_relay
from plugin.adapters.sql.db import Database
run_relay(Database(sys.argv[1]), redis.Redis.from_url(sys.argv[2]), threading.Event())
"""


@contextmanager
def _relay(database_url: str, redis_url: str) -> Iterator[psutil.Process]:
    """The relay in a process of its own; yields it (for its CPU time)."""
    command = [sys.executable, "-c", RELAY_SCRIPT, database_url, redis_url]
    env = dict(os.environ, PYTHONPATH=str(ROOT))
    with running(command, ready=lambda: True, name="relay", env=env, quiet=False) as process:
        yield psutil.Process(process.pid)


class _Bodies:
    """Distinct signed order payloads, so every webhook is a new event (no duplicate path)."""

    def __init__(self) -> None:
        from plugin.platforms.woocommerce.signature import sign

        self._sign = sign
        self._next = 0
        self._lock = threading.Lock()

    def take(self) -> tuple[bytes, str]:
        with self._lock:
            self._next += 1
            number = self._next
        # A typical small order as WooCommerce sends it (reference woocommerce/orders.md).
        line = {
            "id": 1,
            "name": "Widget",
            "product_id": 7,
            "variation_id": 0,
            "quantity": 2,
            "subtotal": "20.00",
            "subtotal_tax": "2.00",
            "total": "20.00",
            "total_tax": "2.00",
            "sku": "W-1",
            "price": 10,
            "meta_data": [],
        }
        address = {"first_name": "Ada", "last_name": "Lovelace", "city": "London", "country": "GB"}
        payload = {
            "id": number,
            "parent_id": 0,
            "number": str(number),
            "status": "processing",
            "currency": "USD",
            "date_created_gmt": "2026-03-01T10:00:00",
            "date_modified_gmt": "2026-03-01T10:00:00",
            "total": "27.00",
            "total_tax": "2.00",
            "shipping_total": "5.00",
            "customer_id": 3,
            "billing": dict(address, email="ada@example.test"),
            "shipping": address,
            "payment_method": "bacs",
            "meta_data": [],
            "line_items": [line, dict(line, id=2, product_id=8, sku="W-2")],
            "shipping_lines": [{"id": 3, "method_id": "flat_rate", "total": "5.00"}],
        }
        body = json.dumps(payload).encode()
        return body, self._sign(WEBHOOK_SECRET, body)


def _post(
    connection: http.client.HTTPConnection, path: str, body: bytes, headers: dict[str, str]
) -> int:
    connection.request("POST", path, body=body, headers=headers)
    response = connection.getresponse()
    response.read()
    return response.status


def _request_maker(port: int, store_id: int, bodies: _Bodies, bare: bool) -> Callable[..., int]:
    def send(connection: http.client.HTTPConnection) -> int:
        body, signature = bodies.take()
        if bare:
            return _post(connection, "/bench/bare", body, {"Content-Type": "application/json"})
        headers = {
            "Content-Type": "application/json",
            "X-WC-Webhook-Topic": "order.created",
            "X-WC-Webhook-Signature": signature,
        }
        return _post(connection, f"/webhooks/woocommerce/{store_id}", body, headers)

    return send


class _Samples:
    """Latencies, statuses, wall time and server CPU time of one or more runs of one path."""

    def __init__(self) -> None:
        self.latencies: list[float] = []
        self.statuses: dict[int, int] = {}
        self.elapsed = 0.0
        self.server_cpu = 0.0
        self.redis_cpu = 0.0
        self.relay_cpu = 0.0

    def add(self, latencies: list[float], statuses: dict[int, int], elapsed: float) -> None:
        self.latencies.extend(latencies)
        for code, count in statuses.items():
            self.statuses[code] = self.statuses.get(code, 0) + count
        self.elapsed += elapsed

    def summary(self) -> dict[str, Any]:
        result = _summary(self.latencies, self.elapsed, self.statuses)
        requests = len(self.latencies)
        # CPU seconds per request hardly move with other load on the machine, unlike rates.
        result["server_cpu_ms_per_request"] = round(self.server_cpu / requests * 1000, 3)
        result["redis_cpu_ms_per_request"] = round(self.redis_cpu / requests * 1000, 3)
        result["relay_cpu_ms_per_request"] = round(self.relay_cpu / requests * 1000, 3)
        return result


def _cpu_seconds(process: psutil.Process) -> float:
    times = process.cpu_times()
    return float(times.user + times.system)


def _closed_loop(
    port: int,
    send: Callable[..., int],
    seconds: float,
    samples: _Samples,
    gunicorn: psutil.Process,
    redis: psutil.Process,
    relay: psutil.Process,
) -> None:
    """CLIENTS keep-alive connections sending back to back for `seconds`, added to `samples`
    with the CPU time the gunicorn workers, Redis and the relay spent meanwhile."""
    latencies: list[float] = []
    statuses: dict[int, int] = {}
    lock = threading.Lock()
    workers = gunicorn.children()
    server_before = sum(_cpu_seconds(worker) for worker in workers)
    redis_before = _cpu_seconds(redis)
    relay_before = _cpu_seconds(relay)
    stop_at = time.monotonic() + seconds

    def client() -> None:
        connection = http.client.HTTPConnection("127.0.0.1", port, timeout=10)
        mine: list[float] = []
        codes: dict[int, int] = {}
        while time.monotonic() < stop_at:
            started = time.perf_counter()
            status = send(connection)
            mine.append(time.perf_counter() - started)
            codes[status] = codes.get(status, 0) + 1
        connection.close()
        with lock:
            latencies.extend(mine)
            for code, count in codes.items():
                statuses[code] = statuses.get(code, 0) + count

    began = time.monotonic()
    threads = [threading.Thread(target=client) for _ in range(CLIENTS)]
    for thread in threads:
        thread.start()
    for thread in threads:
        thread.join()
    samples.add(latencies, statuses, time.monotonic() - began)
    samples.server_cpu += sum(_cpu_seconds(worker) for worker in workers) - server_before
    samples.redis_cpu += _cpu_seconds(redis) - redis_before
    samples.relay_cpu += _cpu_seconds(relay) - relay_before


def _paced(port: int, send: Callable[..., int], rate: int, seconds: float) -> dict[str, float]:
    """Requests started on a fixed schedule; latency counts from the scheduled start, so a
    slow server cannot hide queueing (no coordinated omission)."""
    total = int(rate * seconds)
    interval = 1.0 / rate
    start = time.perf_counter() + 0.05
    latencies: list[float] = []
    statuses: dict[int, int] = {}
    lock = threading.Lock()
    next_index = iter(range(total))
    index_lock = threading.Lock()

    def client() -> None:
        connection = http.client.HTTPConnection("127.0.0.1", port, timeout=10)
        while True:
            with index_lock:
                index = next(next_index, None)
            if index is None:
                break
            scheduled = start + index * interval
            delay = scheduled - time.perf_counter()
            if delay > 0:
                time.sleep(delay)
            status = send(connection)
            latency = time.perf_counter() - scheduled
            with lock:
                latencies.append(latency)
                statuses[status] = statuses.get(status, 0) + 1
        connection.close()

    threads = [threading.Thread(target=client) for _ in range(CLIENTS)]
    for thread in threads:
        thread.start()
    for thread in threads:
        thread.join()
    return _summary(latencies, time.perf_counter() - start, statuses)


def _summary(latencies: list[float], elapsed: float, statuses: dict[int, int]) -> dict[str, Any]:
    ordered = sorted(latencies)
    quantiles = statistics.quantiles(ordered, n=100, method="inclusive")
    return {
        "requests": len(ordered),
        "requests_per_s": round(len(ordered) / elapsed, 1),
        "p50_ms": round(quantiles[49] * 1000, 2),
        "p99_ms": round(quantiles[98] * 1000, 2),
        "max_ms": round(ordered[-1] * 1000, 2),
        "statuses": {str(code): count for code, count in sorted(statuses.items())},
    }


# Every bare request must be a 200 and every webhook a new accepted event (202): a figure made
# of error answers (a CSRF 400, a 401, a 503) measures nothing.
EXPECTED_STATUS = {"bare": "200", "webhook": "202"}


class BenchmarkFailed(RuntimeError):
    """The run measured something other than what it claims to."""


def check_statuses(runs: dict[str, list[dict[str, Any]]], jobs_queued: int) -> None:
    """Raise BenchmarkFailed unless every answer had its expected status and every accepted
    webhook left exactly one queued job."""
    for path, results in runs.items():
        for result in results:
            unexpected = {
                code: count
                for code, count in result["statuses"].items()
                if code != EXPECTED_STATUS[path]
            }
            if unexpected:
                raise BenchmarkFailed(
                    f"{path} answered {unexpected} besides {EXPECTED_STATUS[path]}"
                )
    accepted = sum(result["requests"] for result in runs["webhook"])
    if jobs_queued != accepted:
        raise BenchmarkFailed(f"{accepted} webhooks accepted but {jobs_queued} jobs queued")


def _total_cpu(result: dict[str, Any]) -> float:
    return float(
        result["server_cpu_ms_per_request"]
        + result["redis_cpu_ms_per_request"]
        + result["relay_cpu_ms_per_request"]
    )


def _wait_relayed(db: Any, timeout: float = 30.0) -> float:
    """Seconds until the relay has queued every recorded event (none left 'pending')."""
    from plugin.adapters.sql.inbox import InboxRepository

    inbox = InboxRepository(db)
    began = time.monotonic()
    while inbox.pending_ids(limit=1):
        if time.monotonic() - began > timeout:
            raise BenchmarkFailed(f"events still pending {timeout:.0f} s after the last webhook")
        time.sleep(0.01)
    return time.monotonic() - began


def main(quick: bool = False) -> dict[str, Any]:
    """Run the benchmark, print the figures and return them."""
    rounds, round_seconds, paced_seconds, warm_seconds = (
        QUICK if quick else (ROUNDS, ROUND_SECONDS, PACED_SECONDS, WARM_SECONDS)
    )
    sys.path.insert(0, str(ROOT))
    from plugin.adapters.redis.connection import start_embedded_redis
    from plugin.adapters.sql.db import Database
    from plugin.adapters.sql.stores import StoreRepository
    from plugin.adapters.vault import Vault

    load_before = os.getloadavg()[0]
    with tempfile.TemporaryDirectory(prefix="bo-bench-") as folder:
        home = Path(folder)
        redis_server, redis_url = start_embedded_redis(home / "redis.rdb")
        try:
            db = Database(f"sqlite:///{home / 'backorders.db'}")
            db.migrate()
            store = StoreRepository(db, Vault(SECRET_KEY)).create(
                name="Bench",
                base_url="http://127.0.0.1:9",
                consumer_key="ck",
                consumer_secret="cs",
                webhook_secret=WEBHOOK_SECRET,
            )
            bodies = _Bodies()
            redis_process = psutil.Process(redis_server.pid)
            with (
                _relay(db.url, redis_url) as relay,
                _server(home, redis_url) as (port, master_pid),
            ):
                gunicorn = psutil.Process(master_pid)
                bare = _request_maker(port, store.id, bodies, bare=True)
                webhook = _request_maker(port, store.id, bodies, bare=False)
                processes = (gunicorn, redis_process, relay)
                warm = {"bare": _Samples(), "webhook": _Samples()}
                for path, send in (("bare", bare), ("webhook", webhook)):
                    _closed_loop(port, send, warm_seconds, warm[path], *processes)
                # Alternating rounds, so a change in the machine's other load falls on both.
                measured = {"bare": _Samples(), "webhook": _Samples()}
                for _round in range(rounds):
                    for path, send in (("bare", bare), ("webhook", webhook)):
                        _closed_loop(port, send, round_seconds, measured[path], *processes)
                paced_result = _paced(port, webhook, PACED_RATE, paced_seconds)
                relayed_after = _wait_relayed(db)
            queued = redis_server.client().llen("rq:queue:backorders")
            db.dispose()
        finally:
            redis_server.stop()

    bare_result = measured["bare"].summary()
    webhook_result = measured["webhook"].summary()
    check_statuses(
        {
            "bare": [warm["bare"].summary(), bare_result],
            "webhook": [warm["webhook"].summary(), webhook_result, paced_result],
        },
        queued,
    )
    bare_cpu = _total_cpu(bare_result)
    webhook_cpu = _total_cpu(webhook_result)
    result = {
        "server": (
            f"gunicorn --preload -w {GUNICORN_WORKERS} -k gthread --threads {GUNICORN_THREADS}"
        ),
        # Other processes on the machine skew every figure; the 1-minute load shows how much.
        "load_average_before": round(load_before, 2),
        "clients": CLIENTS,
        "bare": bare_result,
        "webhook": webhook_result,
        "throughput_ratio_webhook_to_bare": round(
            webhook_result["requests_per_s"] / bare_result["requests_per_s"], 3
        ),
        # The same ratio from server CPU (gunicorn workers, Redis, relay) per request: what the
        # rates approach when the server's CPU is the only limit (no other load, a faster client).
        "cpu_ratio_webhook_to_bare": round(bare_cpu / webhook_cpu, 3),
        "paced_200_per_s": paced_result,
        "paced_p99_under_50ms": paced_result["p99_ms"] < 50,
        "jobs_queued": queued,
        "relay_seconds_after_last_webhook": round(relayed_after, 2),
    }
    print(json.dumps(result, indent=2))
    return result


if __name__ == "__main__":
    main()
