"""The public routes as the reporter of issue 13 reached them: the web app on a real gunicorn
(as `make run` and production serve it), a sandbox store whose REST calls are counted, raw
HTTP from this process. No 500, no ERROR in the server's log, and anonymous requests cannot
make the store busy beyond the widget's share of its rate limit."""

from __future__ import annotations

import json
import os
import socket
import sys
import time
from collections.abc import Iterator
from concurrent.futures import ThreadPoolExecutor
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import pytest
import requests

from plugin.adapters.redis.connection import EmbeddedRedis
from plugin.adapters.sql.db import Database
from plugin.adapters.sql.stores import StoreRecord, StoreRepository
from plugin.adapters.vault import Vault
from plugin.platforms.woocommerce.signature import sign
from run import _NO_CONTROL_SOCKET
from tests.functional.web.conftest import CallLog
from tests.integration.connect.conftest import serve
from tests.processes import free_port, running

SECRET_KEY = "public-routes-secret-key-0123456789"  # noqa: S105 - test value
WEBHOOK_SECRET = "whsec-public-routes"  # noqa: S105 - test value
CONSUMER_KEY = "ck_public_routes"
CONSUMER_SECRET = "cs_public_routes"  # noqa: S105 - test value
LIMIT = 1_048_576  # MAX_WEBHOOK_BYTES' default


@dataclass
class Served:
    url: str  # the web app on gunicorn
    log: Path  # gunicorn's stdout and stderr (the app logs there)
    stores: StoreRepository
    sandbox: Any
    sandbox_url: str
    calls: CallLog

    def store(self, **changes: Any) -> StoreRecord:
        record = self.stores.create(
            name="Shop",
            base_url=self.sandbox_url,
            consumer_key=CONSUMER_KEY,
            consumer_secret=CONSUMER_SECRET,
            webhook_secret=WEBHOOK_SECRET,
        )
        if changes:
            self.stores.update(record.id, **changes)
        return record

    def errors_logged(self) -> list[str]:
        text = self.log.read_text(errors="replace")
        return [line for line in text.splitlines() if "level=ERROR" in line or "Traceback" in line]


@pytest.fixture(scope="module")
def served(
    tmp_path_factory: pytest.TempPathFactory, redis_server: EmbeddedRedis
) -> Iterator[Served]:
    from sandbox.woocommerce.app import create_app as create_sandbox

    home = tmp_path_factory.mktemp("public-routes")
    sandbox_app = create_sandbox(
        data_dir=str(home / "sandbox"),
        consumer_key=CONSUMER_KEY,
        consumer_secret=CONSUMER_SECRET,
        seed="demo",
    )
    calls = CallLog(sandbox_app)
    port = free_port()
    url = f"http://127.0.0.1:{port}"
    env = {
        **os.environ,
        "BACKORDERS_HOME": str(home),
        "SECRET_KEY": SECRET_KEY,
        "REDIS_URL": redis_server.url,
        "LOG_LEVEL": "INFO",
        "PUBLIC_URL": url,
    }
    command = [
        sys.executable, "-m", "gunicorn",
        "--bind", f"127.0.0.1:{port}",
        "--workers", "1",
        "--threads", "8",
        "--worker-class", "gthread",
        *_NO_CONTROL_SOCKET,
        "app:create_app()",
    ]  # fmt: skip
    log = home / "gunicorn.log"
    db = Database(f"sqlite:///{home / 'backorders.db'}")
    try:
        with (
            serve(calls) as sandbox_url,
            running(command, ready=_healthy(url), name="web", env=env, output=log),
        ):
            yield Served(
                url, log, StoreRepository(db, Vault(SECRET_KEY)), sandbox_app, sandbox_url, calls
            )
    finally:
        db.dispose()
        sandbox_app.extensions["sandbox"]["deliverer"].close()


def _healthy(url: str) -> Any:
    def ready() -> bool:
        try:
            return requests.get(f"{url}/healthz", timeout=1).status_code == 200
        except requests.RequestException:
            return False

    return ready


def raw_request(url: str, request: bytes) -> tuple[int, bytes]:
    """Send `request` as is on a new connection; the answer's status and body."""
    host, port = url.removeprefix("http://").split(":")
    with socket.create_connection((host, int(port)), timeout=10) as connection:
        connection.sendall(request)
        answer = b""
        while chunk := connection.recv(65536):
            answer += chunk
    head, _, body = answer.partition(b"\r\n\r\n")
    return int(head.split(b" ", 2)[1]), body


BROKEN_CHUNKED = (
    b"Host: 127.0.0.1\r\nTransfer-Encoding: chunked\r\nContent-Type: application/json\r\n"
    b"X-WC-Webhook-Topic: order.created\r\nConnection: close\r\n\r\nzz\r\n{}\r\n0\r\n\r\n"
)


def test_a_broken_chunked_body_is_400_without_an_error_logged(served: Served) -> None:
    store = served.store()
    for path in (f"/webhooks/woocommerce/{store.id}", "/wc-auth/callback/some-state"):
        request = f"POST {path} HTTP/1.1\r\n".encode() + BROKEN_CHUNKED
        status, body = raw_request(served.url, request)
        assert (status, json.loads(body)) == (400, {"error": "unreadable body"}), path
    assert served.errors_logged() == []


def test_deeply_nested_json_on_the_callback_is_400_without_an_error_logged(
    served: Served,
) -> None:
    response = requests.post(
        f"{served.url}/wc-auth/callback/some-state",
        data=b"[" * 100_000,
        headers={"Content-Type": "application/json"},
        timeout=10,
    )
    assert response.status_code == 400
    assert response.json()["error"] == "invalid_keys"
    assert served.errors_logged() == []


def test_a_signed_webhook_with_a_5001_digit_id_is_400(served: Served) -> None:
    store = served.store()
    body = ('{"id": ' + "9" * 5001 + ', "date_modified_gmt": "2026-03-01T10:00:00"}').encode()
    response = requests.post(
        f"{served.url}/webhooks/woocommerce/{store.id}",
        data=body,
        headers={
            "X-WC-Webhook-Topic": "order.created",
            "X-WC-Webhook-Signature": sign(WEBHOOK_SECRET, body),
        },
        timeout=10,
    )
    assert (response.status_code, response.json()) == (
        400,
        {"error": "body has a number too long to read"},
    )
    assert served.errors_logged() == []


def _order_of_size(size: int) -> bytes:
    head = b'{"id": 77, "date_modified_gmt": "2026-03-01T10:00:00", "pad": "'
    return head + b"x" * (size - len(head) - 2) + b'"}'


@pytest.mark.parametrize("chunked", [False, True], ids=["content-length", "chunked"])
def test_a_body_of_exactly_the_limit_is_accepted(served: Served, chunked: bool) -> None:
    store = served.store()

    def post(body: bytes) -> requests.Response:
        data: Any = body
        if chunked:  # requests sends a generator with Transfer-Encoding: chunked
            data = (body[i : i + 65_536] for i in range(0, len(body), 65_536))
        return requests.post(
            f"{served.url}/webhooks/woocommerce/{store.id}",
            data=data,
            headers={
                "X-WC-Webhook-Topic": "order.created",
                "X-WC-Webhook-Signature": sign(WEBHOOK_SECRET, body),
            },
            timeout=30,
        )

    over = post(_order_of_size(LIMIT + 1))
    assert (over.status_code, over.json()) == (413, {"error": f"body larger than {LIMIT} bytes"})
    exact = post(_order_of_size(LIMIT))  # was: 413 on gunicorn
    assert exact.status_code == 202, exact.text
    assert exact.json()["duplicate"] is False


def test_store_ids_cannot_be_enumerated(served: Served) -> None:
    store = served.store()
    body = b'{"id": 1, "date_modified_gmt": "2026-03-01T10:00:00"}'
    answers = [
        requests.post(
            f"{served.url}/webhooks/woocommerce/{store_id}",
            data=body,
            headers={"X-WC-Webhook-Topic": "order.created", "X-WC-Webhook-Signature": "AAAA"},
            timeout=10,
        )
        for store_id in (store.id, 987_654)
    ]
    assert [(a.status_code, a.content) for a in answers] == [
        (401, b'{"error":"missing or invalid signature"}\n')
    ] * 2


def test_anonymous_availability_requests_keep_to_the_widgets_share_of_the_store(
    served: Served,
) -> None:
    # 2 requests a second for the store; the widget may use half: 1 a second.
    store = served.store(api_rate_limit=2.0)
    shirt = int(served.sandbox.extensions["sandbox"]["store"].list_products(sku="SHIRT-FIELD")[0])
    availability = f"{served.url}/storefront/{store.id}/availability"

    # What the reporter sent: variations of ten products and a product, in one request (it
    # made 11 store calls). Refused before any.
    ten = ",".join(f"{parent}:{parent + 1}" for parent in range(100, 1100, 100))
    before = len(served.calls.calls)
    refused = requests.get(availability, params={"product_ids": f"{ten},7"}, timeout=10)
    assert refused.status_code == 400
    assert len(served.calls.calls) == before

    # Then 40 requests from 8 threads, each with ids never asked before (so never cached).
    def ask(n: int) -> tuple[float, dict[str, Any]]:
        started = time.monotonic()
        ids = f"{600_000 + n},{shirt}:{700_000 + n}"
        response = requests.get(availability, params={"product_ids": ids}, timeout=10)
        assert response.status_code == 200, response.text
        return time.monotonic() - started, response.json()

    started = time.monotonic()
    with ThreadPoolExecutor(8) as pool:
        results = list(pool.map(ask, range(40)))
    elapsed = time.monotonic() - started
    made = len(served.calls.calls) - before

    # GCRA with a burst of 1 at 1 call a second: one call at once, then one per second.
    assert 1 <= made <= 1 + int(elapsed) + 1, (made, elapsed, served.calls.calls[before:])
    unknown = [body for _, body in results if "unknown" in body]
    assert len(unknown) >= 40 - made  # every request the store was not asked for
    assert max(seconds for seconds, _ in results) < 3.0  # no request waited for a slot
    # The shirt's variation ids are cached with the shirt: the made-up ones cost nothing.
    assert all("/variations" not in call for call in served.calls.calls[before:])
    assert served.errors_logged() == []
