"""A split reads its order and the stock of the products the delivery named in one round trip
(issue 17, "Cost per split"), against the sandbox store over HTTP with its latency fault, the
store opened as the worker opens it (`Registry.for_store`: the store's Redis rate limiter on
every request) and the split's product locks on the same Redis.

Each REST call takes `LATENCY` seconds. Before, the split read the order, then its products:
two latencies before its first write. Now the read phase lasts about one; a delivery that no
longer names every product of the order (it was edited since) costs one more read, of the
added product only, before the plan is made.
"""

from __future__ import annotations

import json
import logging
import re
import time
from typing import Any

import pytest
import redis

from plugin.adapters.redis.locks import product_locks
from plugin.adapters.sql.audit import SqlAuditLog
from plugin.adapters.sql.db import Database
from plugin.adapters.sql.policies import SqlPolicyStore
from plugin.adapters.sql.releases import SqlReleaseLedger
from plugin.adapters.sql.splits import SqlSplitLedger
from plugin.adapters.sql.stores import StoreRecord, StoreRepository
from plugin.core.model import ProductRef
from plugin.platforms.registry import Registry
from plugin.platforms.woocommerce.signature import sign
from plugin.platforms.woocommerce.webhooks import (
    SIGNATURE_HEADER,
    TOPIC_HEADER,
    WooCommerceWebhooks,
)
from plugin.ports import SplitState
from plugin.usecases.splitting import EventResult, handle_order_event
from tests.fakes import FakeDelivery
from tests.integration.worker.conftest import Sandbox

LATENCY = 0.5  # seconds, every REST request
SECRET = "whsec-read-with-order"
CALL = re.compile(r"woocommerce call method=(\w+) path=(\S+) status=\d+ ms=(\d+)")


def _product(sandbox: Sandbox, name: str, stock: int, backorders: str = "no") -> int:
    product = sandbox.store.create_product(
        {"name": name, "regular_price": "4.00", "manage_stock": True,
         "stock_quantity": stock, "backorders": backorders}
    )  # fmt: skip
    return int(product["id"])


def _delivery(order: dict[str, Any]) -> FakeDelivery:
    """The `order.created` delivery of `order`: its JSON as `GET /orders/<id>` gives it."""
    body = json.dumps(order).encode()
    return FakeDelivery(body, {TOPIC_HEADER: "order.created", SIGNATURE_HEADER: sign(SECRET, body)})


def _connected(stores: StoreRepository, sandbox: Sandbox) -> StoreRecord:
    from sandbox.woocommerce.app import DEMO_CONSUMER_KEY, DEMO_CONSUMER_SECRET

    return stores.create(
        name="Sandbox",
        base_url=sandbox.url,
        consumer_key=DEMO_CONSUMER_KEY,
        consumer_secret=DEMO_CONSUMER_SECRET,
        webhook_secret=SECRET,
        api_rate_limit=50.0,
    )


def _split(
    db: Database,
    stores: StoreRepository,
    connection: redis.Redis,
    store: StoreRecord,
    order_id: str,
    named: tuple[ProductRef, ...],
) -> tuple[EventResult, int]:
    """The worker's split of one order event; returns its result and the REST calls made."""
    platform, _ = Registry(connection, stores, allow_private_addresses=True).for_store(store)
    result = handle_order_event(
        store.id,
        order_id,
        platform=platform,
        ledger=SqlSplitLedger(db),
        releases=SqlReleaseLedger(db),
        policies=SqlPolicyStore(db),
        audit=SqlAuditLog(db),
        stock_lock=lambda refs: product_locks(connection, store.id, refs),
        named_products=named,
    )
    return result, platform.calls


def _calls(caplog: pytest.LogCaptureFixture) -> list[tuple[str, float, float]]:
    """(method and path, start, end) of each REST call, from the client's own log lines."""
    calls = []
    for record in caplog.records:
        found = CALL.search(record.getMessage())
        if found:
            method, path, ms = found.groups()
            path = re.sub(r"/\d+", "/<id>", path)
            calls.append((f"{method} {path}", record.created - int(ms) / 1000, record.created))
    return calls


@pytest.mark.database("sqlite")  # the store's reads are under test, not storage
def test_the_order_and_the_named_products_are_read_in_one_round_trip(
    db: Database,
    stores: StoreRepository,
    redis_client: redis.Redis,
    sandbox: Sandbox,
    caplog: pytest.LogCaptureFixture,
) -> None:
    widget = _product(sandbox, "Widget", 3, backorders="yes")
    gadget = _product(sandbox, "Gadget", 10)
    placed = sandbox.store.create_order(
        {"status": "processing", "line_items": [
            {"product_id": widget, "quantity": 5}, {"product_id": gadget, "quantity": 2}]}
    )  # fmt: skip
    store = _connected(stores, sandbox)
    state = WooCommerceWebhooks().parse("order.created", _delivery(placed))
    assert state.products == (ProductRef(str(widget)), ProductRef(str(gadget)))
    sandbox.faults.update({"latency_ms": int(LATENCY * 1000)})
    caplog.set_level(logging.INFO, logger="plugin.platforms.woocommerce.client")

    started = time.time()
    result, calls = _split(db, stores, redis_client, store, str(placed["id"]), state.products)

    assert result.status == "split"
    assert calls == 4
    timeline = _calls(caplog)
    assert [name for name, _, _ in timeline] == [
        "GET /orders/<id>", "GET /products", "POST /orders/batch", "POST /orders/<id>/notes",
    ] or [name for name, _, _ in timeline] == [
        "GET /products", "GET /orders/<id>", "POST /orders/batch", "POST /orders/<id>/notes",
    ]  # fmt: skip
    reads = {name: (start, end) for name, start, end in timeline[:2]}
    order_read, stock_read = reads["GET /orders/<id>"], reads["GET /products"]
    # The two reads were in flight together, and the first write began about one latency
    # after the split did (two, when the order was read first and then its products).
    assert stock_read[0] < order_read[1] and order_read[0] < stock_read[1]
    read_phase = timeline[2][1] - started
    assert LATENCY <= read_phase < 1.6 * LATENCY, read_phase
    [record] = SqlSplitLedger(db).for_order(store.id, str(placed["id"]))
    assert record.state == SplitState.DONE
    [child] = sandbox.client().list_orders(parent=[placed["id"]])
    assert [(item["product_id"], item["quantity"]) for item in child["line_items"]] == [(widget, 2)]


@pytest.mark.database("sqlite")
def test_a_product_the_delivery_did_not_name_is_read_before_the_plan(
    db: Database,
    stores: StoreRepository,
    redis_client: redis.Redis,
    sandbox: Sandbox,
    caplog: pytest.LogCaptureFixture,
) -> None:
    """The order gained a gizmo (none in stock) after its delivery left the store: the split
    reads the gizmo's stock, and only the gizmo's, then puts it on backorder."""
    widget = _product(sandbox, "Widget", 10)
    gizmo = _product(sandbox, "Gizmo", 0, backorders="yes")
    placed = sandbox.store.create_order(
        {"status": "processing", "line_items": [{"product_id": widget, "quantity": 2}]}
    )
    store = _connected(stores, sandbox)
    state = WooCommerceWebhooks().parse("order.created", _delivery(placed))
    assert state.products == (ProductRef(str(widget)),)
    sandbox.client().update_order(
        placed["id"], {"line_items": [{"product_id": gizmo, "quantity": 3}]}
    )  # added by the merchant, before the job ran
    sandbox.faults.update({"latency_ms": int(LATENCY * 1000)})
    caplog.set_level(logging.INFO, logger="werkzeug")  # the sandbox's access log
    caplog.set_level(logging.INFO, logger="plugin.platforms.woocommerce.client")

    result, calls = _split(db, stores, redis_client, store, str(placed["id"]), state.products)

    assert result.status == "split"
    assert calls == 5  # one more read: the gizmo
    names = [name for name, _, _ in _calls(caplog)]
    # The order and the named widget are read at once: they are logged as they finish, in
    # either order; then the gizmo alone, the split and its note.
    assert sorted(names[-5:-3]) == ["GET /orders/<id>", "GET /products"]
    assert names[-3:] == ["GET /products", "POST /orders/batch", "POST /orders/<id>/notes"]
    product_reads = [
        record.getMessage()
        for record in caplog.records
        if record.name == "werkzeug" and "GET /wp-json/wc/v3/products?" in record.getMessage()
    ]
    # What the store was asked: the named widget with the order, then the gizmo alone.
    assert [re.findall(r"include=([0-9%C]+)", line) for line in product_reads] == [
        [str(widget)], [str(gizmo)],
    ]  # fmt: skip
    [child] = sandbox.client().list_orders(parent=[placed["id"]])
    assert [(item["product_id"], item["quantity"]) for item in child["line_items"]] == [(gizmo, 3)]
    kept = sandbox.client().get_order(placed["id"])
    assert [(item["product_id"], item["quantity"]) for item in kept["line_items"]] == [(widget, 2)]
