"""A Shopify shop end to end with real processes on loopback: the Shopify sandbox, Redis, the web
app and a worker (run.py's own process management). A card checkout with an in-stock and an
out-of-stock line arrives as Shopify's signed webhook and is split: the backordered units held
on their fulfillment order, what ships captured. Stock arriving at another location releases
nothing; stock arriving at the fulfilling location sends `inventory_levels/update`, and the hold
is released and the rest captured."""

from __future__ import annotations

import datetime as dt
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import pytest
import requests

import run
from plugin.ports import ReleaseState
from tests.e2e.helpers import PluginDb, wait_for
from tests.e2e.platforms.shopify.stack import (
    connect_shop,
    plugin_releases,
    running_stack,
    split_card_order,
)
from tests.integration.platforms.shopify.test_platform_sandbox import (
    adjust,
    gid_of,
    locations,
    view,
)
from tests.integration.sandbox_shopify.conftest import Shop

pytestmark = [pytest.mark.e2e, pytest.mark.database("sqlite")]  # a whole stack: one database


def test_checkout_split_then_stock_arrives_and_the_rest_is_captured(
    shopify_stack: run.Stack, shop: Shop
) -> None:
    stack = shopify_stack
    plugin = PluginDb(stack.config())
    store = connect_shop(stack, plugin, shop)
    name, order_id, held_id = split_card_order(plugin, store, shop)
    after = view(shop, gid_of(order_id))
    assert [fo["status"] for fo in after["fulfillmentOrders"]["nodes"]] == ["ON_HOLD", "OPEN"]
    assert [t["amountSet"]["shopMoney"]["amount"] for t in after["transactions"]] == [
        "147.0",
        "12.0",
    ]
    assert sorted(after["tags"]) == sorted(["backorder", f"#{name}-001"])

    places = locations(shop)
    adjust(shop, "BOARD-WALNUT", next(i for n, i in places.items() if n != "Warehouse"), 5)
    shop.flush()
    wait_for(plugin.events_finished, what="the other location's stock event", timeout=30)
    assert view(shop, gid_of(order_id))["fulfillmentOrders"] == after["fulfillmentOrders"]

    adjust(shop, "BOARD-WALNUT", places["Warehouse"], 3)
    shop.flush()

    def released() -> Any:
        found = [
            r
            for r in plugin_releases(plugin).for_order(store.id, held_id)
            if r.state == ReleaseState.DONE
        ]
        return found or None

    wait_for(released, what="the release", timeout=60)
    final = view(shop, gid_of(order_id))
    assert [fo["status"] for fo in final["fulfillmentOrders"]["nodes"]] == ["OPEN", "OPEN"]
    assert [t["amountSet"]["shopMoney"]["amount"] for t in final["transactions"]] == [
        "147.0",
        "12.0",
        "135.0",
    ]
    assert final["displayFinancialStatus"] == "PAID"
    # Shopify retries and duplicates change nothing: one split, one release.
    assert len(plugin.ledger.for_order(store.id, order_id)) == 1


@pytest.fixture
def warning_stack(tmp_path: Path) -> Iterator[run.Stack]:
    """The stack with the lapsing-authorisation check every second and a warning 8 days ahead
    (the sandbox's card authorisations last 7: the warning is due as soon as the split is)."""
    env = {"BACKORDERS_AUTHORISATION_TICK": "1", "BACKORDERS_AUTHORISATION_WARNING": "691200"}
    with running_stack(tmp_path, env) as stack:
        yield stack


def test_the_merchant_is_warned_once_and_a_release_after_the_lapse_sends_an_invoice(
    warning_stack: run.Stack, shop: Shop
) -> None:
    import redis
    from rq import Queue
    from rq.registry import ScheduledJobRegistry

    from plugin.adapters.queue.jobs import QUEUE_NAME
    from plugin.usecases.authorisations import ALERT_KIND

    stack = warning_stack
    plugin = PluginDb(stack.config())
    store = connect_shop(stack, plugin, shop)
    started = dt.datetime.now(dt.UTC).replace(microsecond=0)  # Shopify times are in seconds
    name, order_id, held_id = split_card_order(plugin, store, shop)
    [record] = plugin.ledger.for_order(store.id, order_id)
    expires = record.payment_expires_at
    assert expires is not None  # recorded at split time, from authorizationExpiresAt
    assert dt.timedelta(days=7) <= expires - started <= dt.timedelta(days=7, minutes=2)

    def warnings() -> list[Any]:
        return [a for a in plugin.stores.list_alerts(store.id) if a.kind == ALERT_KIND]

    [warning] = wait_for(warnings, what="the merchant's warning", timeout=30)
    assert warning.order_id == order_id
    assert warning.message.startswith(f"The card authorisation of order {order_id} lapses at ")
    assert f"backorder {name}-001 still waits for stock" in warning.message

    # Two more runs of the check later (each run schedules the next: its due time says so),
    # still one warning.
    connection = redis.Redis.from_url(stack.redis_url)
    registry = ScheduledJobRegistry(queue=Queue(QUEUE_NAME, connection=connection))
    warned_at = dt.datetime.now(dt.UTC).timestamp()

    def two_more_runs() -> bool:
        due = [
            int(job_id.rsplit("-", 1)[1])
            for job_id in registry.get_job_ids()
            if job_id.startswith("periodic-warn_authorisations_all-")
        ]
        return bool(due) and max(due) >= warned_at + 3

    wait_for(two_more_runs, what="two more runs of the check", timeout=30)
    assert [w.id for w in warnings()] == [warning.id]
    connection.close()

    # Eight days on (the shop's clock), the stock arrives: the capture would fail, so the
    # customer is sent Shopify's invoice for the rest instead, and the release is done.
    split = view(shop, gid_of(order_id))
    moved = requests.post(
        f"{shop.url}/sandbox/shopify/clock", json={"advance_seconds": 8 * 86400}, timeout=5
    )
    assert moved.status_code == 200, moved.text
    adjust(shop, "BOARD-WALNUT", locations(shop)["Warehouse"], 3)
    shop.flush()

    def released() -> Any:
        found = [
            r
            for r in plugin_releases(plugin).for_order(store.id, held_id)
            if r.state == ReleaseState.DONE
        ]
        return found or None

    [release] = wait_for(released, what="the release", timeout=60)
    final = view(shop, gid_of(order_id))
    assert release.payment_url == final["statusPageUrl"]
    assert final["transactions"] == split["transactions"]  # no capture was attempted
    assert [fo["status"] for fo in final["fulfillmentOrders"]["nodes"]] == ["OPEN", "OPEN"]
    [invoice] = requests.get(f"{shop.url}/sandbox/shopify/invoices", timeout=5).json()
    assert (invoice["order"], invoice["amount"], invoice["to"]) == (
        gid_of(order_id),
        "135.00",
        "ada@example.com",
    )
    assert [w.id for w in warnings()] == [warning.id]  # released: no warning more
    errors = [e for e in plugin.audit.for_order(store.id, held_id) if e.kind == "error"]
    assert errors == []
