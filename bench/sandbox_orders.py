"""Benchmark: ``GET /wp-json/wc/v3/orders/<id>`` per second against a real sandbox process.

Starts ``python -m sandbox.woocommerce`` on a free loopback port (in-memory store), creates orders,
then lets concurrent clients (threads with keep-alive sessions) read random orders for a fixed time.
Target: at least 500 requests per second on a 2-core machine.
"""

from __future__ import annotations

import base64
import http.client
import random
import threading
import time
from typing import Any
from urllib.parse import urlsplit

import requests

from tests.processes import API_PATH, running_sandbox

TARGET_PER_SECOND = 500
CLIENTS = 8
DURATION_SECONDS = 5.0
ORDERS = 50
QUICK_CLIENTS, QUICK_DURATION_SECONDS, QUICK_ORDERS = 2, 1.0, 5  # `--quick`: does it still run
AUTH = ("ck_bench", "cs_bench")


def _prepare(url: str, orders: int) -> list[int]:
    session = requests.Session()
    session.auth = AUTH
    product = session.post(
        url + "/products",
        json={
            "name": "Bench",
            "regular_price": "9.99",
            "manage_stock": True,
            "stock_quantity": 10_000,
        },
        timeout=10,
    ).json()
    ids = []
    for _ in range(orders):
        order = session.post(
            url + "/orders",
            json={
                "status": "processing",
                "billing": {"first_name": "Bench", "email": "bench@example.com"},
                "line_items": [{"product_id": product["id"], "quantity": 2}],
                "shipping_lines": [
                    {"method_id": "flat_rate", "method_title": "Flat", "total": "5"}
                ],
            },
            timeout=10,
        ).json()
        ids.append(order["id"])
    return ids


def _hammer(
    url: str, ids: list[int], stop: float, counts: list[int], errors: list[int], index: int
) -> None:
    # A keep-alive http.client connection: the load generator shares the 2 cores with the
    # server, so it must cost as little CPU per request as possible.
    parts = urlsplit(url)
    connection = http.client.HTTPConnection(parts.hostname or "127.0.0.1", parts.port, timeout=10)
    token = base64.b64encode(f"{AUTH[0]}:{AUTH[1]}".encode()).decode()
    headers = {"Authorization": f"Basic {token}"}
    rng = random.Random(index)
    done = failed = 0
    while time.monotonic() < stop:
        connection.request("GET", f"{parts.path}/orders/{rng.choice(ids)}", headers=headers)
        response = connection.getresponse()
        body = response.read()
        if response.status == 200 and body.startswith(b'{"id"'):
            done += 1
        else:
            failed += 1
    connection.close()
    counts[index] = done
    errors[index] = failed


def main(quick: bool = False) -> dict[str, Any]:
    """Run the benchmark, print the figures and return them."""
    clients, seconds, orders = (
        (QUICK_CLIENTS, QUICK_DURATION_SECONDS, QUICK_ORDERS)
        if quick
        else (CLIENTS, DURATION_SECONDS, ORDERS)
    )
    with running_sandbox(*AUTH) as base_url:
        url = base_url + API_PATH
        ids = _prepare(url, orders)
        counts = [0] * clients
        errors = [0] * clients
        started = time.monotonic()
        stop = started + seconds
        threads = [
            threading.Thread(target=_hammer, args=(url, ids, stop, counts, errors, i))
            for i in range(clients)
        ]
        for thread in threads:
            thread.start()
        for thread in threads:
            thread.join()
        elapsed = time.monotonic() - started
    per_second = sum(counts) / elapsed
    result = {
        "name": "sandbox_orders",
        "clients": clients,
        "seconds": round(elapsed, 2),
        "requests": sum(counts),
        "errors": sum(errors),
        "orders_get_per_second": round(per_second, 1),
        "target_per_second": TARGET_PER_SECOND,
        "ratio_to_target": round(per_second / TARGET_PER_SECOND, 2),
    }
    print(
        f"sandbox GET /orders/<id>: {result['orders_get_per_second']}/s with {clients} clients "
        f"({result['requests']} requests, {result['errors']} errors) - "
        f"{result['ratio_to_target']}x the {TARGET_PER_SECOND}/s target"
    )
    return result


if __name__ == "__main__":
    main()
