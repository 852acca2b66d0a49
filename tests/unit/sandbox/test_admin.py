"""The /sandbox admin blueprint over a fake store: faults at runtime, the delivery log, flush."""

from __future__ import annotations

from collections.abc import Iterator

import pytest
from flask import Flask
from flask.testing import FlaskClient

from sandbox.faults import Faults
from sandbox.woocommerce import admin, storefront
from sandbox.woocommerce.delivery import Deliverer
from tests.unit.sandbox.conftest import FakeStore
from tests.unit.sandbox.fault_defaults import FAULT_DEFAULTS
from tests.unit.sandbox.receiver import Receiver


@pytest.fixture
def app(fake_store: FakeStore) -> Iterator[Flask]:
    faults = Faults({"seed": 1})
    deliverer = Deliverer(fake_store, faults, source_url="http://shop.test/")
    flask_app = Flask(__name__)
    flask_app.extensions["sandbox"] = {
        "store": fake_store,
        "faults": faults,
        "deliverer": deliverer,
    }
    flask_app.register_blueprint(storefront.bp, url_prefix="/")
    flask_app.register_blueprint(admin.bp, url_prefix="/sandbox")
    yield flask_app
    deliverer.close()


@pytest.fixture
def client(app: Flask) -> FlaskClient:
    return app.test_client()


def test_get_faults_returns_the_configuration(client: FlaskClient) -> None:
    response = client.get("/sandbox/faults")

    assert response.status_code == 200
    assert response.get_json() == {**FAULT_DEFAULTS, "seed": 1}


def test_post_faults_changes_them_at_runtime(app: Flask, client: FlaskClient) -> None:
    response = client.post("/sandbox/faults", json={"error_rate": 1, "fail_next": 3})

    assert response.status_code == 200
    assert response.get_json()["error_rate"] == 1.0
    assert response.get_json()["fail_next"] == 3
    faults = app.extensions["sandbox"]["faults"]
    assert faults.snapshot()["fail_next"] == 3
    assert faults.before_api_request("ck").status_code in (500, 502, 503)


@pytest.mark.parametrize(
    ("body", "error"),
    [
        ({"error_rate": 2}, "error_rate must be between 0 and 1"),
        ({"bogus": 1}, "unknown fault 'bogus'"),
        ([1, 2], "expected a JSON object"),
    ],
)
def test_post_invalid_faults_is_400_and_changes_nothing(
    app: Flask, client: FlaskClient, body: object, error: str
) -> None:
    response = client.post("/sandbox/faults", json=body)

    assert response.status_code == 400
    assert error in response.get_json()["error"]
    assert app.extensions["sandbox"]["faults"].snapshot()["error_rate"] == 0.0


def test_deliveries_json_and_html(
    fake_store: FakeStore, receiver: Receiver, app: Flask, client: FlaskClient
) -> None:
    fake_store.orders[5] = {"id": 5}
    fake_store.add_webhook(3, "order.updated", receiver.url)
    deliverer = app.extensions["sandbox"]["deliverer"]
    deliverer.on_event("order.updated", 5)
    deliverer.on_event("order.updated", 5)

    flushed = client.post("/sandbox/deliveries/flush?timeout=10")
    as_json = client.get("/sandbox/deliveries?limit=1")
    as_html = client.get("/sandbox/deliveries", headers={"Accept": "text/html"})

    assert (flushed.status_code, flushed.get_json()) == (200, {"idle": True})
    [entry] = as_json.get_json()
    assert (entry["webhook_id"], entry["topic"], entry["resource_id"], entry["status_code"]) == (
        3,
        "order.updated",
        5,
        200,
    )
    assert as_html.mimetype == "text/html"
    page = as_html.get_data(as_text=True)
    assert page.count('<tr class="delivery ok">') == 2
    assert entry["delivery_id"] in page


def test_flush_reports_504_when_deliveries_are_still_running(
    fake_store: FakeStore, receiver: Receiver, app: Flask, client: FlaskClient
) -> None:
    fake_store.orders[5] = {"id": 5}
    fake_store.add_webhook(3, "order.updated", receiver.url)
    receiver.gate.clear()
    app.extensions["sandbox"]["deliverer"].on_event("order.updated", 5)
    receiver.wait_for(1)

    response = client.post("/sandbox/deliveries/flush?timeout=0.1")

    assert (response.status_code, response.get_json()) == (504, {"idle": False})
    assert fake_store.recorded == []
    receiver.gate.set()
    assert client.post("/sandbox/deliveries/flush").get_json() == {"idle": True}
    assert fake_store.recorded == [(3, True)]


def test_empty_delivery_log(client: FlaskClient) -> None:
    assert client.get("/sandbox/deliveries").get_json() == []
    page = client.get("/sandbox/deliveries?format=html").get_data(as_text=True)
    assert 'id="no-deliveries"' in page


def test_flush_sends_the_queued_deliveries_now(
    fake_store: FakeStore, receiver: Receiver, app: Flask, client: FlaskClient
) -> None:
    fake_store.orders[5] = {"id": 5}
    fake_store.add_webhook(3, "order.updated", receiver.url)
    queued = client.post("/sandbox/faults", json={"delivery_delay_ms": 600_000})
    app.extensions["sandbox"]["deliverer"].on_event("order.updated", 5)
    assert receiver.requests == []

    response = client.post("/sandbox/deliveries/flush?timeout=10")

    assert queued.get_json()["delivery_delay_ms"] == 600_000
    assert (response.status_code, response.get_json()) == (200, {"idle": True})
    assert [r.headers["X-WC-Webhook-Topic"] for r in receiver.requests] == ["order.updated"]
    assert fake_store.recorded == [(3, True)]
