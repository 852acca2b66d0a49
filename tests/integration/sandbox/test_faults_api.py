"""REST API faults on the real sandbox app: latency, rate limit, server errors, runtime changes."""

from __future__ import annotations

import base64
import time
from typing import Any

from flask import Flask
from flask.testing import FlaskClient

from sandbox.faults import Faults
from sandbox.woocommerce.app import create_app
from tests.integration.sandbox.conftest import Api


def app_with(tmp_path: Any, faults: dict[str, Any]) -> Flask:
    return create_app(
        data_dir=str(tmp_path / "store"),
        consumer_key="ck_test",
        consumer_secret="cs_test",
        faults=faults,
    )


def order_count(app: Flask) -> int:
    return len(app.extensions["sandbox"]["store"].list_orders())


def test_latency_delays_every_rest_request(tmp_path: Any) -> None:
    app = app_with(tmp_path, {"latency_ms": 150})
    try:
        api = Api(app.test_client())
        started = time.perf_counter()
        response = api.call("GET", "/products")
        elapsed = time.perf_counter() - started
    finally:
        app.extensions["sandbox"]["deliverer"].close()

    assert response.status_code == 200
    assert elapsed >= 0.15


def test_rate_limit_answers_429_with_retry_after_per_key(tmp_path: Any) -> None:
    app = app_with(tmp_path, {"rate_limit_per_sec": 3})
    try:
        api = Api(app.test_client())
        other = app.extensions["sandbox"]["store"].create_api_key(
            app_name="other", user_id="2", scope="read_write"
        )
        other_auth = base64.b64encode(
            f"{other['consumer_key']}:{other['consumer_secret']}".encode()
        ).decode()

        accepted = [api.call("GET", "/products").status_code for _ in range(3)]
        refused = api.call("POST", "/orders", {"line_items": []})
        other_key = api.call("GET", "/products", headers={"Authorization": f"Basic {other_auth}"})

        assert accepted == [200, 200, 200]
        assert refused.status_code == 429
        assert refused.headers["Retry-After"] == "1"
        assert refused.get_json()["code"] == "woocommerce_rest_too_many_requests"
        assert order_count(app) == 0
        assert other_key.status_code == 200

        # The window slides: within Retry-After the same key is accepted again.
        deadline = time.monotonic() + 1.5
        status = 429
        while status == 429 and time.monotonic() < deadline:
            time.sleep(0.05)
            status = api.call("GET", "/products").status_code
        assert status == 200
    finally:
        app.extensions["sandbox"]["deliverer"].close()


def test_seeded_error_rate_gives_exact_statuses_and_no_side_effects(tmp_path: Any) -> None:
    config = {"error_rate": 0.4, "seed": 11}
    replay = Faults(config)
    expected = []
    for _ in range(30):
        injected = replay.before_api_request("ck_test")
        expected.append(201 if injected is None else injected.status_code)
    app = app_with(tmp_path, config)
    try:
        api = Api(app.test_client())
        # Created before the faulty calls, without going through the REST layer.
        product = app.extensions["sandbox"]["store"].create_product(
            {"name": "Widget", "regular_price": "1.00"}
        )
        body = {"line_items": [{"product_id": product["id"], "quantity": 1}]}

        statuses = [api.call("POST", "/orders", body).status_code for _ in range(30)]

        assert statuses == expected
        assert {500, 502, 503} & set(statuses)
        assert order_count(app) == statuses.count(201)
    finally:
        app.extensions["sandbox"]["deliverer"].close()


def test_faults_change_at_runtime_through_the_admin_endpoint(
    app: Flask, client: FlaskClient, api: Api
) -> None:
    assert api.call("GET", "/products").status_code == 200

    changed = client.post("/sandbox/faults", json={"error_rate": 1.0, "seed": 4})
    failing = [api.call("GET", "/products").status_code for _ in range(10)]
    storefront = client.get("/")
    client.post("/sandbox/faults", json={"error_rate": 0})
    recovered = api.call("GET", "/products")

    assert changed.status_code == 200
    assert set(failing) <= {500, 502, 503} and len(failing) == 10
    assert storefront.status_code == 200
    assert recovered.status_code == 200
    assert client.get("/sandbox/faults").get_json()["error_rate"] == 0.0


def test_throttle_rate_answers_429_with_retry_after_and_creates_nothing(
    app: Flask, client: FlaskClient, api: Api
) -> None:
    product = app.extensions["sandbox"]["store"].create_product(
        {"name": "Widget", "regular_price": "1.00"}
    )
    body = {"line_items": [{"product_id": product["id"], "quantity": 1}]}
    changed = client.post("/sandbox/faults", json={"throttle_rate": 1.0, "throttle_retry_after": 2})

    refused = [api.call("POST", "/orders", body) for _ in range(5)]
    client.post("/sandbox/faults", json={"throttle_rate": 0})

    assert changed.status_code == 200
    assert [r.status_code for r in refused] == [429] * 5
    assert {r.headers["Retry-After"] for r in refused} == {"2"}
    assert order_count(app) == 0
    assert api.call("POST", "/orders", body).status_code == 201
    assert order_count(app) == 1
