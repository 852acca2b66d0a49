"""Store ids cannot be told apart on the webhook route (issue 13, finding 11): an unknown or
disconnected store is refused exactly like a known store with a bad signature."""

from __future__ import annotations

import statistics
import time
from typing import Any

from flask import Flask
from flask.testing import FlaskClient
from redis import Redis

from plugin.adapters.sql.stores import StoreRecord
from tests.functional.webhooks.conftest import (
    app,
    client,
    deliver,
    inbox_count,
    job_keys,
    order_payload,
    state,
    store,
)

__all__ = ["app", "client", "store"]


def refusal(response: Any) -> tuple[int, bytes, str | None, str | None]:
    """What a caller sees of an answer."""
    return (
        response.status_code,
        response.get_data(),
        response.headers.get("Content-Type"),
        response.headers.get("Content-Length"),
    )


def test_unknown_disconnected_and_wrongly_signed_look_the_same(
    app: Flask, client: FlaskClient, store: StoreRecord, redis_client: Redis
) -> None:
    stores = state(app).stores
    gone = stores.create(
        name="Gone",
        base_url="http://127.0.0.1:9",
        consumer_key="ck_g",
        consumer_secret="cs_g",
        webhook_secret="whsec-gone",
    )
    stores.set_status(gone.id, "disconnected")
    payload = order_payload()
    answers = {
        "known, wrong signature": deliver(client, store.id, payload, signature="AAAA"),
        "known, no signature": deliver(client, store.id, payload, secret=None),
        "unknown, wrong signature": deliver(client, 9_999, payload, signature="AAAA"),
        "unknown, no signature": deliver(client, 9_999, payload, secret=None),
        "disconnected, its own signature": deliver(client, gone.id, payload, secret="whsec-gone"),
    }
    seen = {name: refusal(response) for name, response in answers.items()}
    expected = (401, b'{"error":"missing or invalid signature"}\n', "application/json", "41")
    assert seen == dict.fromkeys(answers, expected)
    assert inbox_count(app) == 0
    assert job_keys(redis_client) == []


def test_the_ping_is_answered_the_same_for_any_store_id(
    client: FlaskClient, store: StoreRecord
) -> None:
    # WooCommerce pings a new webhook unsigned and saves it active only on a 200
    # (reference woocommerce/README.md): whether the store exists cannot matter here either.
    answers = [
        client.post(
            f"/webhooks/woocommerce/{store_id}",
            data=b"webhook_id=15",
            headers={"Content-Type": "application/x-www-form-urlencoded"},
        )
        for store_id in (store.id, 9_999)
    ]
    assert [refusal(a) for a in answers] == [refusal(answers[0])] * 2
    assert answers[0].status_code == 200


def test_an_unknown_store_takes_as_long_as_a_wrong_signature(
    client: FlaskClient, store: StoreRecord
) -> None:
    payload = order_payload()
    deliver(client, store.id, payload, signature="AAAA")  # its target is now cached
    known: list[float] = []
    unknown: list[float] = []
    for _ in range(600):  # interleaved, so the machine's other load falls on both
        for store_id, times in ((store.id, known), (9_999, unknown)):
            started = time.perf_counter()
            response = deliver(client, store_id, payload, signature="AAAA")
            times.append(time.perf_counter() - started)
            assert response.status_code == 401
    ratio = statistics.median(unknown) / statistics.median(known)
    assert 0.75 < ratio < 1.33, (ratio, statistics.median(known), statistics.median(unknown))
