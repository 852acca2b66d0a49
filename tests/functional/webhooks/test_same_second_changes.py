"""Deliveries within one second of `date_modified_gmt` (issue 13, correctness bug 2).

A store can save a resource twice within a second (an order pending, then processing; a
product's stock), and its delivery id repeats within a second too: the inbox tells the states
apart by the fingerprint of their content. An exact re-delivery stays a duplicate and queues
nothing; a delivery whose content a job decides on differs is a new event with its own job.
"""

from __future__ import annotations

import copy
import json
from collections.abc import Callable
from typing import Any

import pytest
import redis
from flask import Flask
from flask.testing import FlaskClient

from plugin.adapters.sql.stores import StoreRecord
from plugin.platforms.woocommerce.fingerprint import order_fingerprint, product_fingerprint

from .conftest import deliver, inbox_count, relayed_job_keys, state

SECOND = "2026-03-01T10:00:00"
# A store derives the delivery id from the webhook id and the current second
# (class-wc-webhook.php `WC_Webhook::get_new_delivery_id`): every delivery here shares it.
SAME_DELIVERY_ID = {"X-WC-Webhook-Delivery-ID": "8f14e45fceea167a5a36dedd4bea2543"}


def order(status: str = "pending") -> dict[str, Any]:
    """An order as a store delivers it (reference woocommerce/orders.md), two lines."""
    return {
        "id": 1042,
        "parent_id": 0,
        "number": "1042",
        "status": status,
        "currency": "USD",
        "date_created_gmt": SECOND,
        "date_modified": "2026-03-01T11:00:00",
        "date_modified_gmt": SECOND,
        "discount_total": "0.00",
        "shipping_total": "5.00",
        "total": "45.00",
        "total_tax": "0.00",
        "customer_id": 26,
        "customer_note": "",
        "billing": {"first_name": "Ada", "email": "ada@example.com"},
        "payment_method": "stripe",
        "date_paid_gmt": None,
        "meta_data": [{"id": 90, "key": "is_vat_exempt", "value": "no"}],
        "line_items": [
            {
                "id": 1,
                "name": "Blue Mug",
                "product_id": 7,
                "variation_id": 0,
                "quantity": 2,
                "subtotal": "20.00",
                "total": "20.00",
                "meta_data": [],
            },
            {
                "id": 2,
                "name": "Field Shirt - M",
                "product_id": 30,
                "variation_id": 32,
                "quantity": 1,
                "subtotal": "20.00",
                "total": "20.00",
                "meta_data": [{"id": 91, "key": "Size", "value": "M"}],
            },
        ],
        "shipping_lines": [{"id": 3, "method_id": "flat_rate", "total": "5.00"}],
        "_links": {"self": [{"href": "https://shop.example.com/wp-json/wc/v3/orders/1042"}]},
    }


def product(stock: int = 0) -> dict[str, Any]:
    """A product as a store delivers it (reference woocommerce/products.md)."""
    return {
        "id": 7,
        "name": "Blue Mug",
        "type": "simple",
        "date_modified": "2026-03-01T11:00:00",
        "date_modified_gmt": SECOND,
        "price": "10.00",
        "manage_stock": True,
        "stock_quantity": stock,
        "stock_status": "instock" if stock > 0 else "onbackorder",
        "backorders": "notify",
        "total_sales": 12,
    }


def send(client: FlaskClient, store: StoreRecord, body: dict[str, Any], topic: str) -> Any:
    return deliver(client, store.id, body, topic=topic, headers=SAME_DELIVERY_ID)


def changed(body: dict[str, Any], change: Callable[[dict[str, Any]], None]) -> dict[str, Any]:
    result = copy.deepcopy(body)
    change(result)
    return result


def assert_new_event(
    app: Flask, connection: redis.Redis, answer: Any, topic: str, fingerprint: str
) -> int:
    assert answer.status_code == 202
    event_id = answer.get_json()["event_id"]
    assert answer.get_json() == {"event_id": event_id, "duplicate": False}
    event = state(app).events.get(event_id)
    assert event is not None
    resource = topic.partition(".")[0]
    assert (event.topic, event.resource_id, event.modified_gmt, event.status) == (
        topic,
        event.resource_id,
        SECOND,
        "pending",
    )
    assert event.dedupe_key == f"{resource}:{event.resource_id}:{SECOND}:{fingerprint}"
    return int(event_id)


def assert_duplicate(answer: Any) -> None:
    assert answer.status_code == 202
    assert answer.get_json() == {"duplicate": True}


def jobs(*event_ids: int) -> list[str]:
    return sorted(f"rq:job:event-{event_id}" for event_id in event_ids)


# --- orders -----------------------------------------------------------------------------------


@pytest.mark.parametrize("topic", ["order.created", "order.updated"])
def test_an_exact_re_delivery_is_a_duplicate_and_queues_nothing(
    app: Flask, client: FlaskClient, store: StoreRecord, redis_client: redis.Redis, topic: str
) -> None:
    first = send(client, store, order(), topic)
    event_id = assert_new_event(app, redis_client, first, topic, order_fingerprint(order()))
    assert relayed_job_keys(app, redis_client) == jobs(event_id)

    again = send(client, store, order(), topic)

    assert_duplicate(again)
    assert inbox_count(app) == 1
    assert relayed_job_keys(app, redis_client) == jobs(event_id)


def _status(body: dict[str, Any]) -> None:
    body["status"] = "processing"
    body["date_paid_gmt"] = SECOND


def _quantity(body: dict[str, Any]) -> None:
    body["line_items"][1]["quantity"] = 3


def _line_total(body: dict[str, Any]) -> None:
    body["line_items"][0]["total"] = "18.00"


def _order_total(body: dict[str, Any]) -> None:
    body["total"] = "43.00"


def _our_meta(body: dict[str, Any]) -> None:
    body["meta_data"].append({"id": 95, "key": "backorders_split_keys", "value": '["1042:a"]'})


def _our_line_meta(body: dict[str, Any]) -> None:
    body["line_items"][1]["meta_data"].append({"id": 96, "key": "_reduced_stock", "value": "1"})


def _line_removed(body: dict[str, Any]) -> None:
    del body["line_items"][1]


def _variation(body: dict[str, Any]) -> None:
    body["line_items"][1]["variation_id"] = 33


def _customer(body: dict[str, Any]) -> None:
    body["customer_id"] = 27


@pytest.mark.parametrize(
    "change",
    [
        _status,
        _quantity,
        _line_total,
        _order_total,
        _our_meta,
        _our_line_meta,
        _line_removed,
        _variation,
        _customer,
    ],
)
def test_a_same_second_change_is_a_new_event_with_its_own_job(
    app: Flask,
    client: FlaskClient,
    store: StoreRecord,
    redis_client: redis.Redis,
    change: Callable[[dict[str, Any]], None],
) -> None:
    before = order()
    after = changed(before, change)
    first = send(client, store, before, "order.updated")
    first_id = assert_new_event(
        app, redis_client, first, "order.updated", order_fingerprint(before)
    )

    second = send(client, store, after, "order.updated")

    second_id = assert_new_event(
        app, redis_client, second, "order.updated", order_fingerprint(after)
    )
    assert second_id != first_id
    assert inbox_count(app) == 2
    assert relayed_job_keys(app, redis_client) == jobs(first_id, second_id)
    # And each state stays itself: re-delivered, both are duplicates.
    assert_duplicate(send(client, store, after, "order.updated"))
    assert_duplicate(send(client, store, before, "order.updated"))
    assert inbox_count(app) == 2
    assert relayed_job_keys(app, redis_client) == jobs(first_id, second_id)


def _meaningless(body: dict[str, Any]) -> None:
    body["date_modified"] = "2026-03-01T11:00:00.5"
    body["customer_note"] = "Leave at the door"
    body["billing"]["first_name"] = "Ada L."
    body["meta_data"].append({"id": 97, "key": "_wc_other_plugin", "value": "x"})
    body["line_items"][0]["name"] = "Blue Mug (large)"
    body["line_items"][1]["meta_data"][0]["display_value"] = "Medium"
    body["_links"] = {}


def test_a_same_second_change_no_job_decides_on_stays_a_duplicate(
    app: Flask, client: FlaskClient, store: StoreRecord, redis_client: redis.Redis
) -> None:
    first = send(client, store, order(), "order.updated")
    event_id = assert_new_event(
        app, redis_client, first, "order.updated", order_fingerprint(order())
    )

    again = send(client, store, changed(order(), _meaningless), "order.updated")

    assert_duplicate(again)
    assert inbox_count(app) == 1
    assert relayed_job_keys(app, redis_client) == jobs(event_id)


def test_order_created_then_updated_with_the_same_content_is_one_event(
    app: Flask, client: FlaskClient, store: StoreRecord, redis_client: redis.Redis
) -> None:
    # A store sends order.created and then order.updated for an order made through REST; the
    # job does the same for both, so one state is one event whichever topic named it.
    created = send(client, store, order(), "order.created")
    event_id = assert_new_event(
        app, redis_client, created, "order.created", order_fingerprint(order())
    )

    updated = send(client, store, order(), "order.updated")

    assert_duplicate(updated)
    assert inbox_count(app) == 1
    assert relayed_job_keys(app, redis_client) == jobs(event_id)


# --- products ---------------------------------------------------------------------------------


def test_a_product_re_delivery_is_a_duplicate_and_queues_nothing(
    app: Flask, client: FlaskClient, store: StoreRecord, redis_client: redis.Redis
) -> None:
    first = send(client, store, product(0), "product.updated")
    event_id = assert_new_event(
        app, redis_client, first, "product.updated", product_fingerprint(product(0))
    )

    again = send(client, store, product(0), "product.updated")
    renamed = send(
        client, store, dict(product(0), name="Blue Mug 2", total_sales=13), "product.updated"
    )

    assert_duplicate(again)
    assert_duplicate(renamed)
    assert inbox_count(app) == 1
    assert relayed_job_keys(app, redis_client) == jobs(event_id)


@pytest.mark.parametrize(
    "change",
    [
        {"stock_quantity": 4, "stock_status": "instock"},  # stock arrived within the second
        {"stock_quantity": 3},
        {"stock_status": "outofstock"},
        {"backorders": "no"},
        {"manage_stock": False},
    ],
)
def test_a_same_second_stock_change_is_a_new_product_event(
    app: Flask,
    client: FlaskClient,
    store: StoreRecord,
    redis_client: redis.Redis,
    change: dict[str, Any],
) -> None:
    before, after = product(0), dict(product(0), **change)
    first = send(client, store, before, "product.updated")
    first_id = assert_new_event(
        app, redis_client, first, "product.updated", product_fingerprint(before)
    )

    second = send(client, store, after, "product.updated")

    second_id = assert_new_event(
        app, redis_client, second, "product.updated", product_fingerprint(after)
    )
    assert second_id != first_id
    assert inbox_count(app) == 2
    assert relayed_job_keys(app, redis_client) == jobs(first_id, second_id)
    assert_duplicate(send(client, store, after, "product.updated"))
    assert inbox_count(app) == 2


# --- shape ------------------------------------------------------------------------------------


def test_fields_of_any_shape_are_hashed_not_refused(
    app: Flask, client: FlaskClient, store: StoreRecord, redis_client: redis.Redis
) -> None:
    # Only id and date_modified_gmt are validated on receipt (the job re-fetches the order).
    odd = dict(order(), line_items={"1": [1, None]}, meta_data="x", status=None, total=45.0)
    odd_lines = dict(order(), line_items=[7, "x", {"id": [1]}], meta_data=[1, {"key": 5}])
    first = send(client, store, odd, "order.updated")
    second = send(client, store, odd_lines, "order.updated")
    ids = [
        assert_new_event(app, redis_client, first, "order.updated", order_fingerprint(odd)),
        assert_new_event(app, redis_client, second, "order.updated", order_fingerprint(odd_lines)),
    ]
    assert_duplicate(send(client, store, odd, "order.updated"))
    assert relayed_job_keys(app, redis_client) == jobs(*ids)


def test_content_nested_too_deeply_to_hash_is_400(
    app: Flask, client: FlaskClient, store: StoreRecord, redis_client: redis.Redis
) -> None:
    # Around the decoder's recursion limit some depths decode but are too deep to hash: those
    # are refused like the ones that do not decode, never answered 500.
    answers: dict[int, int] = {}
    for depth in range(900, 1000):
        nested = "[" * depth + "]" * depth
        body = json.dumps(dict(order(), id=depth, line_items="?")).replace('"?"', nested)
        answer = deliver(client, store.id, body.encode(), topic="order.updated")
        answers[depth] = answer.status_code
        if answer.status_code == 400:
            assert answer.get_json() == {"error": "body is nested too deeply"}
    assert set(answers.values()) == {202, 400}
    accepted = sorted(depth for depth, status in answers.items() if status == 202)
    assert inbox_count(app) == len(accepted)
    assert [e.resource_id for e in state(app).events.list(limit=200)] == [
        str(depth) for depth in reversed(accepted)
    ]
